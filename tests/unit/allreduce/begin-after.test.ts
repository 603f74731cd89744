import { describe, expect, it } from 'vitest';
import type { AllReduce, AllReduceStep, AllReduceTimings } from '../../../worker/src/allreduce/allreduce.js';
import { beginAfter } from '../../../worker/src/allreduce/begin-after.js';

/**
 * beginAfter (worker/src/allreduce/begin-after.ts): an all-reduce step that begins only once its predecessor
 * settled keeps the releases made before, in order, and a cancel before it began means it never begins.
 */
const timings: AllReduceTimings = { totalMs: 1, ownChunkMs: 0, bytesSent: 0, bytesReceived: 0 };

function recording(): { allReduce: AllReduce; log: string[] } {
  const log: string[] = [];
  const allReduce: AllReduce = {
    allReduce: async () => timings,
    begin: (step): AllReduceStep => {
      log.push(`begin ${step}`);
      return {
        bucketCount: 2,
        release: (b) => log.push(`release ${b}`),
        cancel: (reason) => log.push(`cancel ${reason}`),
        reduced: async (b) => void log.push(`reduced ${b}`),
        done: Promise.resolve(timings),
      };
    },
    close: async () => undefined,
  };
  return { allReduce, log };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('beginAfter', () => {
  it('begins once the predecessor settled, then replays the releases made before, in order, and passes later calls through', async () => {
    const { allReduce, log } = recording();
    const previous = deferred();
    const step = beginAfter(allReduce, 7, new Float32Array(4), 2, previous.promise);
    step.release(0);
    expect(log).toEqual([]);
    previous.resolve();
    await expect(step.reduced(0)).resolves.toBeUndefined();
    step.release(1);
    expect(await step.done).toBe(timings);
    expect(log).toEqual(['begin 7', 'release 0', 'reduced 0', 'release 1']);
  });

  it('a predecessor that failed still lets it begin (its own step is independent)', async () => {
    const { allReduce, log } = recording();
    const previous = deferred();
    const step = beginAfter(allReduce, 3, new Float32Array(4), 2, previous.promise);
    previous.reject(new Error('generation ended'));
    await step.done;
    expect(log).toEqual(['begin 3']);
  });

  it('cancelled before it began: it never begins and done rejects naming the step and the reason', async () => {
    const { allReduce, log } = recording();
    const previous = deferred();
    const step = beginAfter(allReduce, 9, new Float32Array(4), 2, previous.promise);
    step.release(0);
    step.cancel('withdrawn');
    previous.resolve();
    await expect(step.done).rejects.toThrow(/step 9 was cancelled before it began: withdrawn/);
    await expect(step.reduced(0)).rejects.toThrow(/cancelled/);
    expect(log).toEqual([]);
  });

  it('refuses a release out of order before it began', () => {
    const { allReduce } = recording();
    const step = beginAfter(allReduce, 1, new Float32Array(4), 2, new Promise(() => undefined));
    expect(() => step.release(1)).toThrow(/out of order/);
  });
});
