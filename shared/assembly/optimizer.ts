/**
 * Fused optimizer updates in place, two elements at a time in float64 lanes with exactly the
 * reference's operations and order (shared/src/kernels/reference/optimizer.ts), so parameters and
 * state equal the reference's bit for bit. Scalars that do not depend on the element (1 − β,
 * bias corrections, the decoupled decay factor) are computed once by the caller in float64.
 */
import { load2, store2 } from './widen';

/**
 * g ← g + l2·θ; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g·g;
 * θ ← θ·decay − (lr·(m/c1)) / (√(v/c2) + ε).
 */
export function adam(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f64, b1: f64, oneMinusB1: f64, b2: f64, oneMinusB2: f64, eps: f64, c1: f64, c2: f64, decay: f64, l2: f64,
): void {
  const end = <usize>n << 2;
  let i: usize = 0;
  const vLr = f64x2.splat(lr), vB1 = f64x2.splat(b1), vA1 = f64x2.splat(oneMinusB1);
  const vB2 = f64x2.splat(b2), vA2 = f64x2.splat(oneMinusB2), vEps = f64x2.splat(eps);
  const vC1 = f64x2.splat(c1), vC2 = f64x2.splat(c2), vDecay = f64x2.splat(decay), vL2 = f64x2.splat(l2);
  for (; i + 8 <= end; i += 8) {
    const theta = load2(p + i);
    const gi = f64x2.add(load2(g + i), f64x2.mul(vL2, theta));
    const mi = f64x2.add(f64x2.mul(vB1, load2(m + i)), f64x2.mul(vA1, gi));
    const vi = f64x2.add(f64x2.mul(vB2, load2(v + i)), f64x2.mul(f64x2.mul(vA2, gi), gi));
    store2(m + i, mi);
    store2(v + i, vi);
    const step = f64x2.div(f64x2.mul(vLr, f64x2.div(mi, vC1)), f64x2.add(f64x2.sqrt(f64x2.div(vi, vC2)), vEps));
    store2(p + i, f64x2.sub(f64x2.mul(theta, vDecay), step));
  }
  for (; i < end; i += 4) {
    const theta = <f64>load<f32>(p + i);
    const gi = <f64>load<f32>(g + i) + l2 * theta;
    const mi = b1 * <f64>load<f32>(m + i) + oneMinusB1 * gi;
    const vi = b2 * <f64>load<f32>(v + i) + oneMinusB2 * gi * gi;
    store<f32>(m + i, <f32>mi);
    store<f32>(v + i, <f32>vi);
    store<f32>(p + i, <f32>(theta * decay - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps)));
  }
}

/**
 * PyTorch SGD: g ← g + wd·θ; with velocity b: b ← μ·b + g, update = nesterov ? g + μ·b : b;
 * without (velocity 0 = none): update = g. θ ← θ − lr·update.
 */
export function sgd(p: usize, g: usize, velocity: usize, n: i32, lr: f64, momentum: f64, nesterov: bool, wd: f64): void {
  const end = <usize>n << 2;
  const useVelocity = velocity != 0;
  const vLr = f64x2.splat(lr), vMu = f64x2.splat(momentum), vWd = f64x2.splat(wd);
  let i: usize = 0;
  for (; i + 8 <= end; i += 8) {
    const theta = load2(p + i);
    const gi = f64x2.add(load2(g + i), f64x2.mul(vWd, theta));
    let update = gi;
    if (useVelocity) {
      const b = f64x2.add(f64x2.mul(vMu, load2(velocity + i)), gi);
      store2(velocity + i, b);
      update = nesterov ? f64x2.add(gi, f64x2.mul(vMu, b)) : b;
    }
    store2(p + i, f64x2.sub(theta, f64x2.mul(vLr, update)));
  }
  for (; i < end; i += 4) {
    const theta = <f64>load<f32>(p + i);
    const gi = <f64>load<f32>(g + i) + wd * theta;
    let update = gi;
    if (useVelocity) {
      const b = momentum * <f64>load<f32>(velocity + i) + gi;
      store<f32>(velocity + i, <f32>b);
      update = nesterov ? gi + momentum * b : b;
    }
    store<f32>(p + i, <f32>(theta - lr * update));
  }
}
