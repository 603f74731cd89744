import { BackendError } from '../../errors.js';
import { MAX_BYTES } from '../wasm/memory.js';

/**
 * How a pool divides its one shared WebAssembly memory (a pure function, unit-tested):
 *
 *   [0, low)                        the kernels module's static data
 *   [low, low + persistentBytes)    persistent: parameters, gradient slots, per-micro-batch slots,
 *                                   optimizer state — written by the main thread, read by all
 *   then threads + 1 scratch ranges one per pool thread, and the last for the main thread
 *
 * Address space only: pages are committed when first written (Note [lazy pages] in memory.ts).
 */
export interface PoolLayout {
  readonly persistent: readonly [number, number];
  /** Scratch byte range of pool thread i. */
  readonly threadScratch: readonly (readonly [number, number])[];
  readonly mainScratch: readonly [number, number];
}

export const DEFAULT_POOL_PERSISTENT_BYTES = 512 * 1024 * 1024;
const MAX_SCRATCH_BYTES = 768 * 1024 * 1024;
const MIN_SCRATCH_BYTES = 64 * 1024 * 1024;

/**
 * The most threads `poolLayout` admits (each still gets MIN_SCRATCH_BYTES), for the low bytes the pool
 * uses (create-pool-model.ts): the bound the preflight checks --threads against.
 */
export function maxPoolThreads(low = 1024 * 1024, persistentBytes = DEFAULT_POOL_PERSISTENT_BYTES): number {
  const start = Math.ceil(low / 65536) * 65536;
  const available = MAX_BYTES - start - persistentBytes;
  return Math.floor(available / MIN_SCRATCH_BYTES) - 1;
}

/** Bytes of scratch each thread (and the main thread) gets with `threads` pool threads. */
export function scratchBytesPerThread(threads: number, low = 1024 * 1024, persistentBytes = DEFAULT_POOL_PERSISTENT_BYTES): number {
  const start = Math.ceil(low / 65536) * 65536;
  return Math.min(MAX_SCRATCH_BYTES, Math.floor((MAX_BYTES - start - persistentBytes) / (threads + 1) / 65536) * 65536);
}

export function poolLayout(threads: number, low: number, persistentBytes = DEFAULT_POOL_PERSISTENT_BYTES): PoolLayout {
  if (!Number.isInteger(threads) || threads < 1) throw new BackendError(`pool: threads must be a positive integer, got ${threads}`);
  const align = (n: number) => Math.ceil(n / 65536) * 65536;
  const start = align(low);
  const persistentEnd = start + persistentBytes;
  const available = MAX_BYTES - persistentEnd;
  const each = Math.min(MAX_SCRATCH_BYTES, Math.floor(available / (threads + 1) / 65536) * 65536);
  if (each < MIN_SCRATCH_BYTES) {
    throw new BackendError(`pool: ${threads} threads leave only ${each} bytes of scratch each in a 4 GiB WebAssembly memory`, {
      hint: 'use fewer threads (--threads / GRADMESH_THREADS)',
    });
  }
  const ranges: [number, number][] = [];
  for (let i = 0; i <= threads; i++) ranges.push([persistentEnd + i * each, persistentEnd + (i + 1) * each]);
  return { persistent: [start, persistentEnd], threadScratch: ranges.slice(0, threads), mainScratch: ranges[threads]! };
}
