import { ShapeError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import type { Batch } from '../model/network.js';
import { formatShape, sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import type { Dataset } from './dataset.js';

/**
 * Turns positions [start, end) of an index list (a permutation or a shard of it) into backend
 * tensors. Memory comes from `backend.alloc` (step scratch), so a batch lives until the backend's
 * next `releaseScratch()`, and the normalised floats exist only for this batch.
 */

/** x: [n, ...inputShape] normalised inputs. For an autoencoder use it as both x and y. */
export function fillInputs(dataset: Dataset, indices: ArrayLike<number>, start: number, end: number, backend: Backend, inputShape: Shape): Tensor {
  if (sizeOf(inputShape) !== dataset.featureSize) {
    throw new ShapeError(
      `the model's input shape ${formatShape(inputShape)} has ${sizeOf(inputShape)} elements but samples of ${dataset.name} have ${dataset.featureSize} (stored as ${formatShape(dataset.sampleShape)})`,
      { hint: 'make the first layer\'s inputShape hold exactly one sample of the data set' },
    );
  }
  const x = backend.alloc([end - start, ...inputShape]);
  dataset.gatherInputs(indices, start, end, x.data);
  return x;
}

/**
 * A supervised batch: x as in fillInputs; y the one-hot labels [n, classes] of a classification data set,
 * or the targets [n, 1] of a regression one (then the batch says so, for the regression metrics).
 */
export function fillBatch(dataset: Dataset, indices: ArrayLike<number>, start: number, end: number, backend: Backend, inputShape: Shape): Batch {
  const x = fillInputs(dataset, indices, start, end, backend, inputShape);
  if (dataset.task === 'regression') {
    const y = backend.alloc([end - start, 1]);
    dataset.gatherTargets(indices, start, end, y.data);
    return { x, y, count: end - start, regression: true };
  }
  const y = backend.alloc([end - start, dataset.classes]);
  dataset.gatherOneHot(indices, start, end, y.data);
  return { x, y, count: end - start };
}
