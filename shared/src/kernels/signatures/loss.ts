import type { Tensor } from '../../tensor/tensor.js';

export interface LossKernels {
  /**
   * Softmax fused with cross-entropy, stable for large logits (log-sum-exp with the row max).
   * logits[B,C], targets[B,C] (one-hot or any distribution). Writes
   * dLogits = gradScale · (softmax(logits) − targets) and returns Σ_rows −Σ_c t·log softmax.
   */
  softmaxCrossEntropy(logits: Tensor, targets: Tensor, dLogits: Tensor, gradScale: number): number;
}
