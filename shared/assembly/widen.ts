/**
 * float32 ⇄ float64 lanes. Kernels whose reference computes in float64 (scale, axpy, the
 * optimizers, average pooling) do the same float64 operations on two lanes at a time and round
 * once, so their results equal the reference bit for bit.
 */

/** Two floats at p as float64 lanes. */
// @ts-ignore: decorator
@inline
export function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Rounds two float64 lanes to float32 and stores them at p. */
// @ts-ignore: decorator
@inline
export function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}
