import type { Backend } from '../../../shared/src/kernels/backend.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import type { Shape } from '../../../shared/src/tensor/tensor.js';

/** The reference backend, counting allocations so tests can check optimizers never allocate per step. */
export function countingBackend(): Backend & { persistent: number; scratch: number } {
  const inner = createReferenceBackend();
  const counts = { persistent: 0, scratch: 0 };
  return Object.assign(counts, {
    name: inner.name,
    kernels: inner.kernels,
    alloc(shape: Shape) {
      counts.scratch++;
      return inner.alloc(shape);
    },
    allocUninitialized(shape: Shape) {
      counts.scratch++;
      return inner.allocUninitialized(shape);
    },
    allocPersistent(shape: Shape) {
      counts.persistent++;
      return inner.allocPersistent(shape);
    },
    releaseScratch: () => inner.releaseScratch(),
  });
}
