import type { Tensor } from '../../tensor/tensor.js';

export interface MatMulOptions {
  /** Use aᵀ: a is [K, M] instead of [M, K]. */
  readonly transposeA?: boolean;
  /** Use bᵀ: b is [N, K] instead of [K, N]. */
  readonly transposeB?: boolean;
  /** out += op(a)·op(b) instead of out = op(a)·op(b). */
  readonly accumulate?: boolean;
}

/** Dense linear algebra. All tensors are 2-D row-major views; `out` is written, never reallocated. */
export interface LinearKernels {
  /** out[M,N] = op(a)[M,K] · op(b)[K,N]  (+ out when accumulate). */
  matMul(a: Tensor, b: Tensor, out: Tensor, options?: MatMulOptions): void;
  /** out[..., C] = x[..., C] + bias[C]. `out` may be `x` (in place). */
  biasAdd(x: Tensor, bias: Tensor, out: Tensor): void;
  /** out[C] = Σ over all leading dims of dy[..., C]  (+ out when accumulate). */
  biasGrad(dy: Tensor, out: Tensor, accumulate?: boolean): void;
}
