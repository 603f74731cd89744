import type { Tensor } from '../../tensor/tensor.js';

/** Pointwise activation functions. `alpha` is the slope of leakyRelu and the scale of elu. */
export type ActivationKind = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'leakyRelu' | 'elu';

export const ACTIVATION_KINDS: readonly ActivationKind[] = ['linear', 'relu', 'sigmoid', 'tanh', 'leakyRelu', 'elu'];

/** Elementwise maps and row-wise softmax. Every `out` may alias an input of the same shape. */
export interface ElementwiseKernels {
  /** out = f(x). */
  activation(kind: ActivationKind, x: Tensor, out: Tensor, alpha: number): void;
  /** dx = dy ⊙ f'(x); `y` = f(x) (sigmoid and tanh use y, the others x). */
  activationBackward(kind: ActivationKind, dy: Tensor, x: Tensor, y: Tensor, dx: Tensor, alpha: number): void;
  /** out = a + b (same shapes). */
  add(a: Tensor, b: Tensor, out: Tensor): void;
  /** out = a ⊙ b (same shapes). */
  mul(a: Tensor, b: Tensor, out: Tensor): void;
  /** out = s·x. */
  scale(x: Tensor, s: number, out: Tensor): void;
  /** y += alpha·x. */
  axpy(alpha: number, x: Tensor, y: Tensor): void;
  fill(out: Tensor, value: number): void;
  copy(src: Tensor, dst: Tensor): void;
  /** out[B,C] = softmax over each row of x[B,C] (max-subtracted). */
  softmax(x: Tensor, out: Tensor): void;
  /** dx = y ⊙ (dy − Σ_row dy⊙y), the softmax Jacobian-vector product. */
  softmaxBackward(dy: Tensor, y: Tensor, dx: Tensor): void;
}

/** Reductions returning a float64 sum (accumulated in fixed index order). */
export interface ReductionKernels {
  sum(x: Tensor): number;
  sumSquares(x: Tensor): number;
}
