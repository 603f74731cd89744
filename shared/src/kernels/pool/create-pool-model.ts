import type { RunConfig } from '../../config/run-config.js';
import { Model } from '../../train/model.js';
import { Arena } from '../wasm/arena.js';
import { createWasmBackend } from '../wasm/backend.js';
import { createWasmMemory } from '../wasm/memory.js';
import { poolLayout } from './layout.js';
import { PoolExecutor } from './pool-executor.js';
import { ThreadPool } from './thread-pool.js';
import type { Backend } from '../backend.js';

/** Bytes below the pool's persistent region, left to the kernels module's static data. */
const LOW_BYTES = 1024 * 1024;

export interface PoolRuntime {
  readonly pool: ThreadPool;
  /** The main thread's backend over the pool's memory (optimizer, update step, parameters). */
  readonly backend: Backend;
}

/** One shared memory, a main-thread backend over it and `threads` pool threads. */
export function createPoolRuntime(threads: number): PoolRuntime {
  const layout = poolLayout(threads, LOW_BYTES);
  const memory = createWasmMemory(LOW_BYTES);
  const backend = createWasmBackend({
    memory,
    persistent: new Arena(memory, layout.persistent[0], layout.persistent[1], 'persistent'),
    scratch: new Arena(memory, layout.mainScratch[0], layout.mainScratch[1], 'main-thread scratch'),
  });
  return { pool: new ThreadPool(threads, memory, layout), backend };
}

/** A Model whose micro-batches run on a piscina pool with WebAssembly SIMD kernels. */
export function createPoolModel(config: RunConfig, options: { threads: number; targetsAreInputs: boolean }): Model {
  const { pool, backend } = createPoolRuntime(options.threads);
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
