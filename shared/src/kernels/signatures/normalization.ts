import type { Tensor } from '../../tensor/tensor.js';

/** Batch normalisation over x viewed as [M, C] (M = every position of every sample, C = channels). */
export interface NormalizationKernels {
  /** Training mode: mean[C], variance[C] (biased) of x; out = γ·(x−mean)/√(var+eps) + β. */
  batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, out: Tensor, mean: Tensor, variance: Tensor): void;
  /** Inference mode with given statistics. */
  batchNormInfer(x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: number, out: Tensor): void;
  /** Gradients of batchNormTrain: overwrites dx, dGamma, dBeta. */
  batchNormBackward(
    dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, eps: number,
    dx: Tensor, dGamma: Tensor, dBeta: Tensor,
  ): void;
}
