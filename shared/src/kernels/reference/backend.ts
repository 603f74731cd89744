import type { Backend } from '../backend.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Shape } from '../../tensor/tensor.js';
import { referenceKernels } from './index.js';

/**
 * The reference backend: plain JS heap memory. Scratch is left to the garbage collector, so
 * releaseScratch has nothing to free; step-scoped tensors simply become unreachable.
 */
export function createReferenceBackend(): Backend {
  return {
    name: 'reference',
    kernels: referenceKernels,
    alloc: (shape: Shape) => Tensor.zeros(shape),
    allocUninitialized: (shape: Shape) => Tensor.zeros(shape),
    allocPersistent: (shape: Shape) => Tensor.zeros(shape),
    releaseScratch: () => {},
  };
}
