import { BackendError } from '../../errors.js';
import type { Shape } from '../../tensor/tensor.js';
import type { Backend } from '../backend.js';
import { registerReferenceBackend } from '../reference/index.js';
import { registerKernels, registeredBackends, resolveKernels } from '../registry.js';
import { Arena } from './arena.js';
import { existingContext, registerContext } from './context.js';
import { wasmKernels } from './kernels.js';
import { createWasmMemory } from './memory.js';
import { instantiateKernels } from './module.js';

export interface WasmBackendOptions {
  /** A shared memory (see createWasmMemory). Default: a new one. */
  readonly memory?: WebAssembly.Memory;
  /** Parameters, gradient slots, optimizer state: shared by every thread of a pool. */
  readonly persistent?: Arena;
  /** Step-scoped tensors and kernel workspace of this thread. */
  readonly scratch?: Arena;
}

/**
 * Default layout of a memory the backend lays out itself: the module's static data, then a
 * persistent region of this many bytes, then the scratch region up to the 4 GiB ceiling, grown on
 * demand. 256 MiB holds 64 M floats, far more than parameters + gradients + Adam state of the
 * models gradmesh trains; being address space only (Note [lazy pages] in memory.ts), it costs
 * nothing until used.
 */
export const DEFAULT_PERSISTENT_BYTES = 256 * 1024 * 1024;
/** Low bytes left to the module (its static data ends at heapBase(), ~7 KiB today). */
const RESERVED_LOW_BYTES = 64 * 1024;
const INITIAL_SCRATCH_BYTES = 32 * 1024 * 1024;

/**
 * The WebAssembly SIMD backend. Without options it makes its own memory and two arenas. A pool
 * makes ONE memory, one persistent arena shared by all threads and one scratch arena per thread
 * over disjoint ranges, and passes all three to createWasmBackend in each thread; the kernels
 * instance is per thread (module.ts).
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  const { persistent: givenPersistent, scratch: givenScratch } = options;
  if ((givenPersistent === undefined) !== (givenScratch === undefined)) {
    throw new BackendError('createWasmBackend: give both the persistent and the scratch arena, or neither');
  }
  const memory = options.memory ?? givenPersistent?.memory ?? createWasmMemory(RESERVED_LOW_BYTES + DEFAULT_PERSISTENT_BYTES + INITIAL_SCRATCH_BYTES);
  if (givenPersistent && givenScratch && (givenPersistent.memory !== memory || givenScratch.memory !== memory)) {
    throw new BackendError('createWasmBackend: the arenas must lie in the backend\'s memory');
  }
  const exports = existingContext(memory)?.exports ?? instantiateKernels(memory);
  const low = Math.max(RESERVED_LOW_BYTES, exports.heapBase());
  const persistent = givenPersistent ?? new Arena(memory, low, low + DEFAULT_PERSISTENT_BYTES, 'persistent');
  const scratch = givenScratch ?? new Arena(memory, persistent.limit, undefined, 'scratch');
  if (persistent.base < exports.heapBase() || scratch.base < exports.heapBase()) {
    throw new BackendError(`createWasmBackend: arenas must start at or above byte ${exports.heapBase()}, where the kernels' static data ends`);
  }
  // Note [shared fill] in arena.ts. The arenas are this thread's objects; the fill is this thread's instance.
  const zeroFill = (ptr: number, floats: number) => exports.fill(ptr, 0, floats);
  persistent.zeroFill = zeroFill;
  scratch.zeroFill = zeroFill;
  registerContext({ memory, exports, scratch });
  if (!registeredBackends().includes('reference')) registerReferenceBackend();
  registerKernels('wasm', wasmKernels);
  return {
    name: 'wasm',
    kernels: resolveKernels('wasm'),
    alloc: (shape: Shape) => scratch.alloc(shape),
    allocUninitialized: (shape: Shape) => scratch.allocUninitialized(shape),
    allocPersistent: (shape: Shape) => persistent.alloc(shape),
    releaseScratch: () => scratch.reset(),
  };
}
