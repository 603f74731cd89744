import type { RunConfig } from '../../config/run-config.js';
import { Model } from '../../train/model.js';
import { nativeAvailability, nativeFallbackLine } from '../native/availability.js';
import { withNativeKernels } from '../native/backend.js';
import { Arena } from '../wasm/arena.js';
import { createWasmBackend } from '../wasm/backend.js';
import { createWasmMemory } from '../wasm/memory.js';
import { poolLayout } from './layout.js';
import { PoolExecutor } from './pool-executor.js';
import { ThreadPool } from './thread-pool.js';
import type { PoolKernels } from './tasks.js';
import type { Backend } from '../backend.js';

/** Bytes below the pool's persistent region, left to the kernels module's static data. */
const LOW_BYTES = 1024 * 1024;

export interface PoolRuntime {
  readonly pool: ThreadPool;
  /** The main thread's backend over the pool's memory (optimizer, update step, parameters). */
  readonly backend: Backend;
}

/**
 * One shared memory, a main-thread backend over it and `threads` pool threads running `kernels`
 * (the main thread's backend has the same kernels: WebAssembly, or native with the addon's Adam). Asked for 'native' where the addon cannot load or fails its self-check, the pool runs
 * 'wasm' and prints one line saying why (nativeFallbackLine); `pool.kernels` says what runs.
 */
export function createPoolRuntime(threads: number, kernels: PoolKernels = 'wasm'): PoolRuntime {
  const layout = poolLayout(threads, LOW_BYTES);
  const memory = createWasmMemory(LOW_BYTES);
  const backend = createWasmBackend({
    memory,
    persistent: new Arena(memory, layout.persistent[0], layout.persistent[1], 'persistent'),
    scratch: new Arena(memory, layout.mainScratch[0], layout.mainScratch[1], 'main-thread scratch'),
  });
  let chosen = kernels;
  if (kernels === 'native') {
    const native = nativeAvailability(backend);
    if (!native.available) {
      process.stderr.write(`${nativeFallbackLine(native.reason)}\n`);
      chosen = 'wasm';
    }
  }
  // The main thread's update step (Adam) runs between steps, unshared by the pool: native there too.
  return { pool: new ThreadPool(threads, memory, layout, chosen), backend: chosen === 'native' ? withNativeKernels(backend) : backend };
}

/** A Model whose micro-batches run on a piscina pool with WebAssembly SIMD (or native GEMM) kernels. */
export function createPoolModel(config: RunConfig, options: { threads: number; targetsAreInputs: boolean; kernels?: PoolKernels }): Model {
  const { pool, backend } = createPoolRuntime(options.threads, options.kernels);
  return new Model(config, {
    backend,
    executor: (network, store) =>
      new PoolExecutor(network, store, backend, pool, {
        seed: config.seed,
        microBatch: config.training.microBatch,
        targetsAreInputs: options.targetsAreInputs,
        model: config.model,
        loss: config.loss,
      }),
  });
}
