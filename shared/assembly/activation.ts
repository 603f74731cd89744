/**
 * Activations forward and backward over n floats, with the reference's formulas. relu and linear
 * are exact in float32 and vectorised; the others are computed per element in float64 with the
 * compiler's software exp/expm1/tanh (pure functions: the same input gives the same bits on every
 * thread) and rounded once, so they differ from the reference only where V8's Math.exp and this
 * one disagree in the last float64 bit (almost never visible after rounding to float32).
 */
export const LINEAR: i32 = 0;
export const RELU: i32 = 1;
export const SIGMOID: i32 = 2;
export const TANH: i32 = 3;
export const LEAKY_RELU: i32 = 4;
export const ELU: i32 = 5;

export function activation(kind: i32, x: usize, out: usize, n: i32, alpha: f64): void {
  const end = <usize>n << 2;
  if (kind == LINEAR) {
    memory.copy(out, x, end);
    return;
  }
  let i: usize = 0;
  if (kind == RELU) {
    // x > 0 ? x : +0 (a NaN gives 0, like the reference's comparison).
    const zero = f32x4.splat(0);
    for (; i + 16 <= end; i += 16) {
      const v = v128.load(x + i);
      v128.store(out + i, v128.and(v, f32x4.gt(v, zero)));
    }
  }
  for (; i < end; i += 4) store<f32>(out + i, <f32>activate(kind, <f64>load<f32>(x + i), alpha));
}

// @ts-ignore: decorator
@inline
function activate(kind: i32, v: f64, alpha: f64): f64 {
  switch (kind) {
    case RELU: return v > 0 ? v : 0;
    case SIGMOID: return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    case TANH: return Math.tanh(v);
    case LEAKY_RELU: return v > 0 ? v : alpha * v;
    case ELU: return v > 0 ? v : alpha * Math.expm1(v);
    default: return v;
  }
}

/** dx = dy·f'(x); sigmoid and tanh use y = f(x). dx may alias dy. */
export function activationBackward(kind: i32, dy: usize, x: usize, y: usize, dx: usize, n: i32, alpha: f64): void {
  const end = <usize>n << 2;
  if (kind == LINEAR) {
    memory.copy(dx, dy, end);
    return;
  }
  let i: usize = 0;
  if (kind == RELU) {
    const zero = f32x4.splat(0);
    for (; i + 16 <= end; i += 16) {
      v128.store(dx + i, v128.and(v128.load(dy + i), f32x4.gt(v128.load(x + i), zero)));
    }
  }
  for (; i < end; i += 4) {
    store<f32>(dx + i, <f32>derivative(kind, <f64>load<f32>(dy + i), <f64>load<f32>(x + i), <f64>load<f32>(y + i), alpha));
  }
}

// @ts-ignore: decorator
@inline
function derivative(kind: i32, d: f64, x: f64, y: f64, alpha: f64): f64 {
  switch (kind) {
    case RELU: return x > 0 ? d : 0;
    case SIGMOID: return d * y * (1 - y);
    case TANH: return d * (1 - y * y);
    case LEAKY_RELU: return x > 0 ? d : alpha * d;
    case ELU: return x > 0 ? d : d * alpha * Math.exp(x);
    default: return d;
  }
}
