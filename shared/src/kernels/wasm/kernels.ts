import type { Kernels } from '../kernels.js';
import { convWasmKernels } from './conv.js';
import { elementwiseWasmKernels } from './elementwise.js';
import { linearWasmKernels } from './linear.js';
import { normalizationWasmKernels } from './normalization.js';
import { lossWasmKernels } from './loss.js';
import { optimizerWasmKernels } from './optimizer.js';
import { poolingWasmKernels } from './pooling.js';
import { recurrentWasmKernels } from './recurrent.js';
import { reductionWasmKernels } from './reduction.js';

/**
 * The kernels the WebAssembly backend implements itself; the registry fills the rest
 * (swapLeadingAxes) from the reference, which works on views into the WebAssembly memory as on any
 * Float32Array.
 */
export const wasmKernels: Partial<Kernels> = {
  ...linearWasmKernels,
  ...convWasmKernels,
  ...poolingWasmKernels,
  ...elementwiseWasmKernels,
  ...reductionWasmKernels,
  ...lossWasmKernels,
  ...normalizationWasmKernels,
  ...optimizerWasmKernels,
  ...recurrentWasmKernels,
};
