import type { Kernels } from '../kernels.js';
import { registerKernels } from '../registry.js';
import { convReferenceKernels } from './conv.js';
import { elementwiseReferenceKernels } from './elementwise.js';
import { linearReferenceKernels } from './linear.js';
import { lossReferenceKernels } from './loss.js';
import { normalizationReferenceKernels } from './normalization.js';
import { optimizerReferenceKernels } from './optimizer.js';
import { poolingReferenceKernels } from './pooling.js';
import { recurrentReferenceKernels } from './recurrent.js';
import { reductionReferenceKernels } from './reduction.js';

/**
 * The oracle: every kernel in plain, readable TypeScript on any Float32Array. Faster backends
 * register only what they accelerate and are tested against this table.
 */
export const referenceKernels: Kernels = {
  ...linearReferenceKernels,
  ...convReferenceKernels,
  ...poolingReferenceKernels,
  ...elementwiseReferenceKernels,
  ...reductionReferenceKernels,
  ...lossReferenceKernels,
  ...normalizationReferenceKernels,
  ...optimizerReferenceKernels,
  ...recurrentReferenceKernels,
};

export function registerReferenceBackend(): void {
  registerKernels('reference', referenceKernels);
}
