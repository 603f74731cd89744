/**
 * Elementwise arithmetic over n floats. Every loop reads element i before writing element i, so
 * `out` may be one of the inputs. float32 add/multiply of two float32 values equals the
 * reference's float64 result rounded once, so add and mul may use f32x4; scale and axpy involve a
 * float64 scalar and go through float64 lanes (widen.ts).
 */
import { columnSums } from './column-sums';
import { load2, store2 } from './widen';

export function add(a: usize, b: usize, out: usize, n: i32): void {
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) v128.store(out + i, f32x4.add(v128.load(a + i), v128.load(b + i)));
  for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) + load<f32>(b + i));
}

export function mul(a: usize, b: usize, out: usize, n: i32): void {
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) v128.store(out + i, f32x4.mul(v128.load(a + i), v128.load(b + i)));
  for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) * load<f32>(b + i));
}

/** out = s·x with s in float64. */
export function scale(x: usize, s: f64, out: usize, n: i32): void {
  const end = <usize>n << 2;
  const sv = f64x2.splat(s);
  let i: usize = 0;
  for (; i + 8 <= end; i += 8) store2(out + i, f64x2.mul(sv, load2(x + i)));
  for (; i < end; i += 4) store<f32>(out + i, <f32>(s * <f64>load<f32>(x + i)));
}

/** y = y + alpha·x in float64, rounded once. */
export function axpy(alpha: f64, x: usize, y: usize, n: i32): void {
  const end = <usize>n << 2;
  const av = f64x2.splat(alpha);
  let i: usize = 0;
  for (; i + 8 <= end; i += 8) store2(y + i, f64x2.add(load2(y + i), f64x2.mul(av, load2(x + i))));
  for (; i < end; i += 4) store<f32>(y + i, <f32>(<f64>load<f32>(y + i) + alpha * <f64>load<f32>(x + i)));
}

export function fill(out: usize, value: f32, n: i32): void {
  const end = <usize>n << 2;
  const v = f32x4.splat(value);
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) v128.store(out + i, v);
  for (; i < end; i += 4) store<f32>(out + i, value);
}

export function copy(src: usize, dst: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

/** out[r, :] = x[r, :] + bias for rows × c; out may be x. */
export function biasAdd(x: usize, bias: usize, out: usize, rows: i32, c: i32): void {
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const orow = out + <usize>r * rowBytes;
    let j: usize = 0;
    for (; j + 16 <= rowBytes; j += 16) v128.store(orow + j, f32x4.add(v128.load(xr + j), v128.load(bias + j)));
    for (; j < rowBytes; j += 4) store<f32>(orow + j, load<f32>(xr + j) + load<f32>(bias + j));
  }
}

/**
 * out[j] (+)= Σ_r dy[r, j], each column summed in float64 in row order (the reference's order, so
 * the result is bitwise the reference's). ws holds c float64 partial sums.
 */
export function biasGrad(dy: usize, out: usize, rows: i32, c: i32, accumulate: bool, ws: usize): void {
  columnSums(dy, rows, c, ws);
  for (let j = 0; j < c; j++) {
    const o = out + (<usize>j << 2);
    const s = load<f64>(ws + (<usize>j << 3));
    store<f32>(o, <f32>(accumulate ? <f64>load<f32>(o) + s : s));
  }
}
