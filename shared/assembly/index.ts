/**
 * Entry of the kernels module (built by shared/scripts/build-wasm.mjs). Kernels take byte pointers
 * into the imported shared memory and sizes; they never allocate, so the stub runtime's heap is
 * never used and the module has no state beyond the per-instance globals of window.ts.
 */
export { gemm, gemmWorkspaceBytes } from './gemm';
export { setWindow } from './window';

/** First byte past the module's static data: arenas must start at or above it. */
export function heapBase(): usize {
  return __heap_base;
}
