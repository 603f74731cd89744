import type { Tensor } from '../tensor/tensor.js';
import { checkLossShapes } from './check-shapes.js';

/**
 * Rows of output[B, C] whose argmax equals the argmax of the one-hot target row. Ties go to
 * the first index on both sides, so the count is deterministic across backends.
 */
export function countCorrect(output: Tensor, targets: Tensor): number {
  checkLossShapes('accuracy', output, targets);
  const C = output.dim(-1);
  let correct = 0;
  for (let base = 0; base < output.size; base += C) {
    if (argmax(output.data, base, C) === argmax(targets.data, base, C)) correct++;
  }
  return correct;
}

function argmax(values: Float32Array, base: number, length: number): number {
  let best = 0;
  for (let c = 1; c < length; c++) if (values[base + c]! > values[base + best]!) best = c;
  return best;
}
