/** The WebAssembly SIMD backend: what other modules (the pool executor, the benchmark) use. */
export { wasmKernels } from './kernels.js';
export { matMulRows } from './linear.js';
export { Arena, ARENA_ALIGN } from './arena.js';
export { createWasmMemory, MAX_BYTES, PAGE_BYTES } from './memory.js';
export { KERNELS_WASM_URL, kernelsModule } from './module.js';
export { createWasmBackend, DEFAULT_PERSISTENT_BYTES } from './backend.js';
export type { WasmBackendOptions } from './backend.js';
export { measureGemm } from './measure.js';
export type { GemmMeasurement } from './measure.js';
