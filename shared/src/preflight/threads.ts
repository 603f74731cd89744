import { ConfigError } from '../errors.js';
import { maxPoolThreads } from '../kernels/pool/layout.js';

/**
 * The most pool threads a process can have. Note [thread bound]: not a taste but the pool's memory
 * layout (kernels/pool/layout.ts): every pool thread gets its own scratch range of at least 64 MiB in
 * the one 4 GiB WebAssembly memory, after the 512 MiB persistent region, which leaves room for 54.
 * More threads than cores only oversubscribe (slower, still correct), so that is not refused.
 */
export const MAX_THREADS = maxPoolThreads();

/** `--threads` (or GRADMESH_THREADS, named by `flag`) within 1..MAX_THREADS. */
export function checkThreads(threads: number, flag: string): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new ConfigError(flag, `must be an integer from 1 to ${MAX_THREADS}`, {
      value: threads,
      hint: `each pool thread needs its own ≥ 64 MiB scratch range in the 4 GiB WebAssembly memory, which holds ${MAX_THREADS}; threads beyond the cores only oversubscribe them`,
    });
  }
}
