import type { Backend } from '../backend.js';
import { registerKernels, resolveKernels } from '../registry.js';
import { createWasmBackend } from '../wasm/backend.js';
import type { WasmBackendOptions } from '../wasm/backend.js';
import { nativeAddon } from './addon.js';
import { nativeKernels } from './kernels.js';

/**
 * The native backend: a WebAssembly backend (same memory, arenas and kernels instance) whose
 * GEMM-shaped kernels call OpenBLAS. Throws a BackendError when the addon cannot load; choosing
 * between native and pool is nativeAvailability's job (availability.ts), not this function's.
 */
export function createNativeBackend(options: WasmBackendOptions = {}): Backend {
  nativeAddon();
  return withNativeKernels(createWasmBackend(options));
}

/** A WebAssembly backend's memory and arenas with the native kernels (the addon must load). */
export function withNativeKernels(wasm: Backend): Backend {
  registerKernels('native', nativeKernels);
  return { ...wasm, name: 'native', kernels: resolveKernels('native') };
}
