import { describe, expect, it } from 'vitest';
import { fillBatch, fillInputs } from '../../../shared/src/data/batcher.js';
import { Dataset } from '../../../shared/src/data/dataset.js';
import { ShapeError } from '../../../shared/src/errors.js';
import type { Backend } from '../../../shared/src/kernels/backend.js';
import type { Kernels } from '../../../shared/src/kernels/kernels.js';
import { Tensor, type Shape } from '../../../shared/src/tensor/tensor.js';

/** A backend double that records allocations; batching needs memory, not kernels. */
function recordingBackend(): Backend & { allocated: Shape[] } {
  const allocated: Shape[] = [];
  return {
    name: 'recording',
    kernels: {} as Kernels,
    allocated,
    alloc(shape) {
      allocated.push(shape);
      return Tensor.zeros(shape);
    },
    allocUninitialized(shape) {
      allocated.push(shape);
      return Tensor.zeros(shape);
    },
    allocPersistent: (shape) => Tensor.zeros(shape),
    releaseScratch() {},
  };
}

const ds = Dataset.create({
  name: 'px',
  sampleShape: [2, 3],
  classes: 4,
  features: Uint8Array.from([0, 51, 102, 153, 204, 255, 255, 204, 153, 102, 51, 0]),
  labels: Uint8Array.from([3, 1]),
});

describe('batcher', () => {
  it('fillBatch allocates x [n, ...inputShape] and one-hot y [n, classes] on the backend and fills them', () => {
    const backend = recordingBackend();
    const batch = fillBatch(ds, [1, 0], 0, 2, backend, [6]);
    expect(backend.allocated).toEqual([[2, 6], [2, 4]]);
    expect(batch.count).toBe(2);
    expect([...batch.x.data]).toEqual([1, 0.8, 0.6, 0.4, 0.2, 0].map(Math.fround).concat([0, 0.2, 0.4, 0.6, 0.8, 1].map(Math.fround)));
    expect([...batch.y.data]).toEqual([0, 1, 0, 0, 0, 0, 0, 1]);
  });

  it('a regression data set gives targets y [n, 1] in index order and marks the batch as regression; a subset and its shared copy (a pool thread\'s view) keep targets and class names', () => {
    const reg = Dataset.create({ name: 'r', sampleShape: [1], classes: 1, features: Float32Array.from([1, 2, 3]), targets: Float32Array.from([0.5, -1, 7]) });
    const batch = fillBatch(reg, [2, 0], 0, 2, recordingBackend(), [1]);
    expect(batch.y.shape).toEqual([2, 1]);
    expect([...batch.y.data]).toEqual([7, 0.5]);
    expect(batch.regression).toBe(true);
    expect(fillBatch(ds, [0], 0, 1, recordingBackend(), [6]).regression).toBeUndefined();
    const view = Dataset.fromShared(reg.subset([2, 1]).toShared());
    expect(view.task).toBe('regression');
    expect([view.targetAt(0), view.targetAt(1)]).toEqual([7, -1]);
    const named = Dataset.create({ name: 'n', sampleShape: [1], classes: 2, features: Float32Array.from([1, 2]), labels: Int32Array.from([1, 0]), classNames: ['cat', 'dog'] });
    expect(Dataset.fromShared(named.toShared()).classNames).toEqual(['cat', 'dog']);
    expect(named.task).toBe('classification');
  });

  it('the model may view a sample in any shape of equal size', () => {
    expect(fillInputs(ds, [0], 0, 1, recordingBackend(), [3, 2, 1]).shape).toEqual([1, 3, 2, 1]);
  });

  it('rejects an input shape whose size is not the feature size, naming both', () => {
    expect(() => fillInputs(ds, [0], 0, 1, recordingBackend(), [28, 28])).toThrow(ShapeError);
    expect(() => fillInputs(ds, [0], 0, 1, recordingBackend(), [28, 28])).toThrow(/\[28, 28\] has 784 elements .* have 6 \(stored as \[2, 3\]\)/);
  });
});
