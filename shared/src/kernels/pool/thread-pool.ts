import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { BackendError } from '../../errors.js';
import type { PoolLayout } from './layout.js';
import type { PoolKernels, PoolTask, PoolThreadData } from './tasks.js';

/**
 * The piscina pool behind the `pool` backend: a fixed number of threads (no idle shrink, so each
 * keeps its compiled kernels, built models and scratch range), all sharing one WebAssembly memory.
 * With kernels 'native' the threads' GEMMs call OpenBLAS (kernels/native); the caller has checked
 * that the addon loads (nativeAvailability) before creating the pool.
 */
export class ThreadPool {
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  readonly kernels: PoolKernels;
  readonly #piscina: Piscina<PoolTask, unknown>;

  constructor(threads: number, memory: WebAssembly.Memory, layout: PoolLayout, kernels: PoolKernels = 'wasm') {
    this.threads = threads;
    this.memory = memory;
    this.kernels = kernels;
    const data: PoolThreadData = {
      memory,
      kernels,
      threadCounter: new Int32Array(new SharedArrayBuffer(4)),
      persistent: layout.persistent,
      threadScratch: layout.threadScratch,
    };
    this.#piscina = new Piscina({
      filename: threadEntry(),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData: data,
    });
  }

  run<T>(task: PoolTask): Promise<T> {
    return this.#piscina.run(task) as Promise<T>;
  }

  async destroy(): Promise<void> {
    await this.#piscina.destroy();
  }
}

/**
 * The compiled thread entry. From shared/dist it sits beside this file; when this file runs from
 * shared/src (vitest), the entry is taken from shared/dist, so pool tests need `npm run build`.
 */
function threadEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.ts') ? here.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`).replace(/\.ts$/, '.js') : here;
  const entry = path.join(path.dirname(compiled), 'pool-thread.js');
  if (!existsSync(entry)) throw new BackendError(`the pool thread entry ${entry} is missing`, { hint: 'run `npm run build`' });
  return pathToFileURL(entry).href;
}
