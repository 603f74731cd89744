import type { Tensor } from '../../tensor/tensor.js';
import type { LossKernels } from '../signatures/loss.js';
import { requireSameSize, rowsOf } from './checks.js';
import { contextOf, ptr } from './context.js';

/** Softmax cross-entropy: a scalar float64 loop per row in shared/assembly/softmax.ts. */
function softmaxCrossEntropy(logits: Tensor, targets: Tensor, dLogits: Tensor, gradScale: number): number {
  requireSameSize('softmaxCrossEntropy', logits, targets, dLogits);
  const r = rowsOf('softmaxCrossEntropy', logits);
  return contextOf('softmaxCrossEntropy', dLogits, logits, targets).exports.softmaxCrossEntropy(
    ptr(logits), ptr(targets), ptr(dLogits), r.rows, r.cols, gradScale,
  );
}

export const lossWasmKernels: LossKernels = { softmaxCrossEntropy };
