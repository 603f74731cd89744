/**
 * The compute thread pool for packages that drive it directly (the GEMM benchmark). A subpath of its own,
 * loaded on demand, because importing it loads piscina — `@gradmesh/shared/internal` must not.
 */
export { createPoolRuntime } from './kernels/pool/create-pool-model.js';
export type { PoolRuntime } from './kernels/pool/create-pool-model.js';
export { parallelMatMul } from './kernels/pool/parallel-matmul.js';
export type { PoolKernels } from './kernels/pool/tasks.js';
export { nativeAvailability, nativeAvailabilityOnOwnMemory } from './kernels/native/availability.js';
export { nativeAddon } from './kernels/native/addon.js';
export type { NativeAvailability } from './kernels/native/availability.js';
