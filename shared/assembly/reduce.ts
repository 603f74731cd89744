/**
 * float64 sums of n floats. Element i goes to partial sum i mod 4 (two f64x2 accumulators), the
 * partials are combined as (s0 + s1) + (s2 + s3), then the tail is added in order: a fixed order
 * that depends only on n, never on timing or threads. It differs from the reference's strictly
 * sequential order only in the last bits.
 */
import { load2 } from './widen';

export function sum(x: usize, n: i32): f64 {
  const end = <usize>n << 2;
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) {
    a = f64x2.add(a, load2(x + i));
    b = f64x2.add(b, load2(x + i + 8));
  }
  let s = (f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1)) + (f64x2.extract_lane(b, 0) + f64x2.extract_lane(b, 1));
  for (; i < end; i += 4) s += <f64>load<f32>(x + i);
  return s;
}

export function sumSquares(x: usize, n: i32): f64 {
  const end = <usize>n << 2;
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) {
    const u = load2(x + i);
    const v = load2(x + i + 8);
    a = f64x2.add(a, f64x2.mul(u, u));
    b = f64x2.add(b, f64x2.mul(v, v));
  }
  let s = (f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1)) + (f64x2.extract_lane(b, 0) + f64x2.extract_lane(b, 1));
  for (; i < end; i += 4) {
    const v = <f64>load<f32>(x + i);
    s += v * v;
  }
  return s;
}
