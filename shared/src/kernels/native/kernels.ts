import type { Kernels } from '../kernels.js';
import { wasmKernels } from '../wasm/kernels.js';
import { convNativeKernels } from './conv.js';
import { linearNativeKernels } from './linear.js';
import { normalizationNativeKernels } from './normalization.js';
import { optimizerNativeKernels } from './optimizer.js';

/**
 * The native backend's kernels: the GEMM-shaped ones (matMul — dense layers and the LSTM/GRU/RNN
 * gate GEMMs go through it — and the three convolutions) call OpenBLAS, BatchNorm's training
 * kernels and Adam's update the addon's vectorised C (normalization.ts, optimizer.ts); everything
 * else is the
 * WebAssembly kernels on the same memory. The registry fills the rest from the reference.
 */
export const nativeKernels: Partial<Kernels> = {
  ...wasmKernels,
  ...linearNativeKernels,
  ...convNativeKernels,
  ...normalizationNativeKernels,
  ...optimizerNativeKernels,
};
