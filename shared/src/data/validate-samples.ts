import { DataError } from '../errors.js';
import { formatShape, shapesEqual, type Shape } from '../tensor/tensor.js';

/**
 * Checks of loaded samples that no header can promise (issue 12: a damaged or mismatched file is
 * refused before training, one line naming the file, the value and its position).
 */

/**
 * Every value of a float32 data file is finite: one NaN or ±Infinity pixel poisons every gradient of
 * every batch it lands in, many steps later. Names the first one by sample index and element.
 */
export function checkFiniteFeatures(values: Float32Array, sampleSize: number, file: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) continue;
    const sample = Math.floor(i / sampleSize);
    throw new DataError(file, `sample ${sample}, element ${i - sample * sampleSize}: value ${String(v)} is not a finite number`, {
      context: { index: sample, element: i - sample * sampleSize },
      hint: 'the file is damaged or was written from data with missing values; fix or drop that sample',
    });
  }
}

/** The test samples have the training samples' shape ([28, 28] and [784] hold the same values but are not the same images to a CNN). */
export function checkSameSampleShape(train: { name: string; sampleShape: Shape }, test: { name: string; sampleShape: Shape }, field: string): void {
  if (shapesEqual(train.sampleShape, test.sampleShape)) return;
  throw new DataError(test.name, `has samples of shape ${formatShape(test.sampleShape)} but the training set ${train.name} has ${formatShape(train.sampleShape)}`, {
    hint: `${field}.train and ${field}.test must hold the same kind of samples`,
  });
}
