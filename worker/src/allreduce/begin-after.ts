import { ClusterError } from '@gradmesh/shared/internal';
import type { AllReduce, AllReduceStep } from './allreduce.js';

/**
 * The all-reduce of `step`, begun only once `previous` (the step before's `done`) has settled: an all-reduce runs one
 * step at a time, but a step handed out while its predecessor's all-reduce is still on the wire (Note [the next step
 * starts before the all-reduce ends] in replica.ts) may release a bucket before that one is over. Releases are kept
 * (in order) and replayed when the step begins; a cancel before then means it never begins, and `done` rejects.
 * In practice the next step releases its first bucket only after its forward pass, long after the predecessor's
 * sums arrived: the wait is a guarantee, not the common path.
 */
export function beginAfter(allReduce: AllReduce, step: number, data: Float32Array, bucketCount: number, previous: Promise<unknown>): AllReduceStep {
  let running: AllReduceStep | undefined;
  let cancelled: string | undefined;
  let released = 0;
  const started = previous.then(
    () => undefined,
    () => undefined,
  ).then(() => {
    if (cancelled !== undefined) throw new ClusterError(`all-reduce of step ${step} was cancelled before it began: ${cancelled}`, { step });
    running = allReduce.begin(step, data);
    for (let b = 0; b < released; b++) running.release(b);
    return running;
  });
  started.catch(() => undefined);
  const done = started.then((r) => r.done);
  done.catch(() => undefined);
  return {
    bucketCount,
    release: (bucket) => {
      if (running !== undefined) return running.release(bucket);
      if (bucket !== released || bucket >= bucketCount) throw new ClusterError(`bucket ${bucket} released out of order before the all-reduce of step ${step} began (next is ${released} of ${bucketCount})`, { step });
      released = bucket + 1;
    },
    cancel: (reason) => {
      if (running !== undefined) running.cancel(reason);
      else cancelled ??= reason;
    },
    reduced: (bucket) => started.then((r) => r.reduced(bucket)),
    done,
  };
}
