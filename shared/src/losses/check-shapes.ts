import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/tensor.js';

/** Output and target must match element for element (a mismatch means a wrong label encoding). */
export function checkLossShapes(loss: string, output: Tensor, target: Tensor): void {
  if (!shapesEqual(output.shape, target.shape)) {
    throw new ShapeError(`${loss}: model output ${formatShape(output.shape)} and target ${formatShape(target.shape)} differ`, {
      hint: 'the last layer must have one unit per target value (one-hot labels for classification)',
    });
  }
}

/** Features per sample: every element of a row of the batch. */
export function featuresPerSample(t: Tensor): number {
  return t.rank === 0 ? 1 : t.size / t.dim(0);
}
