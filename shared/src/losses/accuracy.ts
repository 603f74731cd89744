import type { Tensor } from '../tensor/tensor.js';
import { checkLossShapes } from './check-shapes.js';

/**
 * Rows of output[B, C] whose argmax equals the argmax of the one-hot target row. Ties go to
 * the first index on both sides, so the count is deterministic across backends.
 */
export function countCorrect(output: Tensor, targets: Tensor): number {
  return tallyPredictions(output, targets, undefined);
}

/**
 * Counts correct rows like `countCorrect` and, when `confusion` is given (C × C counts, row = actual
 * class, column = predicted), adds every row to it: the confusion matrix comes from the same forward
 * pass as the loss and the accuracy.
 */
export function tallyPredictions(output: Tensor, targets: Tensor, confusion: number[] | undefined): number {
  checkLossShapes('accuracy', output, targets);
  const C = output.dim(-1);
  let correct = 0;
  for (let base = 0; base < output.size; base += C) {
    const predicted = argmax(output.data, base, C);
    const actual = argmax(targets.data, base, C);
    if (predicted === actual) correct++;
    if (confusion !== undefined) confusion[actual * C + predicted]! += 1;
  }
  return correct;
}

function argmax(values: Float32Array, base: number, length: number): number {
  let best = 0;
  for (let c = 1; c < length; c++) if (values[base + c]! > values[base + best]!) best = c;
  return best;
}
