import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { referenceKernels, registerReferenceBackend } from '../../../shared/src/kernels/reference/index.js';
import { ownKernels, resolveKernels } from '../../../shared/src/kernels/registry.js';

describe('reference backend', () => {
  it('allocates zero-filled tensors of the requested shape from both allocators', () => {
    const b = createReferenceBackend();
    const t = b.alloc([2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(b.allocPersistent([4]).size).toBe(4);
    expect(b.kernels).toBe(referenceKernels);
    b.releaseScratch();
  });

  it('registerReferenceBackend makes the full reference table resolvable', () => {
    registerReferenceBackend();
    expect(ownKernels('reference')).toEqual(expect.arrayContaining(['matMul', 'conv2d', 'adamUpdate', 'softmaxCrossEntropy', 'batchNormBackward']));
    expect(resolveKernels('reference').matMul).toBe(referenceKernels.matMul);
  });
});
