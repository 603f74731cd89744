import type { GradientBucket } from './gradient-buckets.js';

/**
 * What a caller that overlaps communication with backward hands `GradientExecutor.computeGradients`: the buckets
 * (in release order) and a callback. The executor calls `release(0)`, `release(1)`, … as each bucket's slot sums
 * become final — all of them before `computeGradients` resolves — and never touches a released bucket's slots
 * again in that call.
 */
export interface GradientStream {
  readonly buckets: readonly GradientBucket[];
  release(bucket: number): void;
}

/** Atomics.waitAsync (Node ≥ 16; ES2024, newer than this project's TypeScript lib). */
const waitAsync = (Atomics as unknown as { waitAsync(cells: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> } }).waitAsync;

/**
 * Releases the buckets of `stream` as the micro-batch tasks' progress cells (Note [gradients final]) pass their
 * starts, while `tasks` run; `finalize(bucket)` runs first (the executor sums the micro-batch buffers over the
 * bucket's range). Resolves with the tasks' result after every bucket is released; rejects with the tasks' error.
 *
 * A bucket is final when every micro-batch's mark is ≤ its start. The main thread waits on the first cell still
 * above it with Atomics.waitAsync, raced against the tasks so a failed task cannot leave it waiting.
 */
export async function releaseAsFinal<T>(tasks: Promise<T>, cells: Int32Array, micros: number, stream: GradientStream, finalize: (bucket: GradientBucket) => void): Promise<T> {
  let settled = false;
  const all = tasks.then(
    (value) => {
      settled = true;
      return value;
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  // The race below must not leave an unobserved rejection behind: `all` is awaited at the end either way.
  const over = all.then(
    () => undefined,
    () => undefined,
  );
  const { buckets } = stream;
  let next = 0;
  while (next < buckets.length && !settled) {
    const start = buckets[next]!.start;
    let cell = -1;
    let value = 0;
    for (let m = 0; m < micros; m++) {
      const mark = Atomics.load(cells, m);
      if (mark > start) {
        cell = m;
        value = mark;
        break;
      }
    }
    if (cell < 0) {
      finalize(buckets[next]!);
      stream.release(next++);
      continue;
    }
    const wait = waitAsync(cells, cell, value);
    if (wait.async) await Promise.race([wait.value, over]);
  }
  const result = await all;
  while (next < buckets.length) {
    finalize(buckets[next]!);
    stream.release(next++);
  }
  return result;
}
