/**
 * Four-lane float32 exp, sigmoid and tanh for the fused recurrent cells (recurrent.ts), where a
 * step's gate activations are most of the elementwise work: an LSTM 128 on MNIST evaluates ≈ 5
 * transcendental functions per unit, batch row and time step.
 *
 * Accuracy: exp is the classic Cody–Waite reduction x = n·ln2 + r (ln2 split in two so n·ln2_hi
 * is exact) and a degree-6 polynomial for e^r on |r| ≤ ln2/2 (the minimax coefficients of the
 * Cephes library), then 2^n put in the exponent bits: within ≈ 2 ulp of the float32-rounded true
 * value. sigmoid and tanh inherit a few ulps; tanh takes a Taylor polynomial below |x| = 0.3, where
 * 1 − 2/(e^{2|x|} + 1) would lose relative precision to cancellation. There is no FMA (relaxed SIMD
 * gives nothing here, shared/README), so every lane computes exactly the same operations: a value
 * gets the same bits in any lane, on any thread.
 */

/** Activation kinds, numbered as in activation.ts. */
export const LINEAR: i32 = 0;
export const RELU: i32 = 1;
export const SIGMOID: i32 = 2;
export const TANH: i32 = 3;

// @ts-ignore: decorator
@inline
function splat(v: f32): v128 {
  return f32x4.splat(v);
}

/** e^x per lane; x is clamped to [−87.3, 88.3] so that 2^n stays a normal float (e^88.3 ≈ 2.2e38). */
// @ts-ignore: decorator
@inline
export function expv(x0: v128): v128 {
  const x = f32x4.min(f32x4.max(x0, splat(-87.3)), splat(88.3));
  const n = f32x4.nearest(f32x4.mul(x, splat(1.44269504089)));
  let r = f32x4.sub(x, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** 1 / (1 + e^−x); saturates cleanly at both ends thanks to the clamp in expv. */
// @ts-ignore: decorator
@inline
export function sigmoidv(x: v128): v128 {
  return f32x4.div(splat(1), f32x4.add(splat(1), expv(f32x4.neg(x))));
}

/** tanh x = sign(x)·(1 − 2/(e^{2|x|} + 1)), or x·(1 − x²/3 + 2x⁴/15 − …) through x¹¹ for |x| < 0.3 (error < 2e-9 relative). */
// @ts-ignore: decorator
@inline
export function tanhv(x: v128): v128 {
  const a = f32x4.abs(x);
  const large = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(expv(f32x4.add(a, a)), splat(1))));
  const signed = v128.or(large, v128.and(x, i32x4.splat(0x80000000)));
  const x2 = f32x4.mul(x, x);
  let p = splat(-1382.0 / 155925.0);
  p = f32x4.add(f32x4.mul(p, x2), splat(62.0 / 2835.0));
  p = f32x4.add(f32x4.mul(p, x2), splat(-17.0 / 315.0));
  p = f32x4.add(f32x4.mul(p, x2), splat(2.0 / 15.0));
  p = f32x4.add(f32x4.mul(p, x2), splat(-1.0 / 3.0));
  const small = f32x4.add(x, f32x4.mul(x, f32x4.mul(x2, p)));
  return v128.bitselect(small, signed, f32x4.lt(a, splat(0.3)));
}

/** The activation `kind` per lane. */
// @ts-ignore: decorator
@inline
export function activatev(kind: i32, x: v128): v128 {
  if (kind == SIGMOID) return sigmoidv(x);
  if (kind == TANH) return tanhv(x);
  if (kind == RELU) return v128.and(x, f32x4.gt(x, splat(0)));
  return x;
}

/** f′ expressed through the output y = f(x), as the cells keep activated values only. */
// @ts-ignore: decorator
@inline
export function slopev(kind: i32, y: v128): v128 {
  if (kind == SIGMOID) return f32x4.mul(y, f32x4.sub(splat(1), y));
  if (kind == TANH) return f32x4.sub(splat(1), f32x4.mul(y, y));
  if (kind == RELU) return v128.and(splat(1), f32x4.gt(y, splat(0)));
  return splat(1);
}

/** The first n (1–4) floats at p, zeros in the other lanes. */
// @ts-ignore: decorator
@inline
export function loadn(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.replace_lane(splat(0), 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores the first n (1–4) lanes of v at p. */
// @ts-ignore: decorator
@inline
export function storen(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}
