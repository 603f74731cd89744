import type { Tensor } from '../../tensor/tensor.js';
import type { LossKernels } from '../signatures/loss.js';

/**
 * Fused softmax + cross-entropy over rows of logits[B, C].
 * Note [log-sum-exp]: log softmax_c = z_c − (m + log Σ_k e^{z_k − m}) with m the row max; every
 * exponent is ≤ 0, so logits of ±1e4 give a finite loss where softmax-then-log would give
 * log(0) = −∞. Each row's loss is computed before its gradient is written, so dLogits may alias
 * logits.
 */
function softmaxCrossEntropy(logits: Tensor, targets: Tensor, dLogits: Tensor, gradScale: number): number {
  const C = logits.dim(-1);
  const Z = logits.data, T = targets.data, G = dLogits.data;
  let total = 0;
  for (let base = 0; base < Z.length; base += C) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, Z[base + c]!);
    let sumExp = 0;
    for (let c = 0; c < C; c++) sumExp += Math.exp(Z[base + c]! - max);
    const logSumExp = max + Math.log(sumExp);
    for (let c = 0; c < C; c++) {
      const t = T[base + c]!;
      if (t !== 0) total -= t * (Z[base + c]! - logSumExp);
    }
    for (let c = 0; c < C; c++) G[base + c] = gradScale * (Math.exp(Z[base + c]! - logSumExp) - T[base + c]!);
  }
  return total;
}

export const lossReferenceKernels: LossKernels = { softmaxCrossEntropy };
