import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Note [sampled after a full collection]
 * V8 sizes its old generation from the allocation rate and the live size at the last major collection, so
 * between two samples taken "wherever the collector happens to be" the heap can grow for thousands of steps and
 * then shrink, and RSS follows with megabytes of slope that no object retains (the CNN-BN's ≈ 1.7 MiB per
 * 1,000 steps of 2026-11-30 was this: with a full collection before every sample the same run is flat). A leak is
 * memory still held after the collector has had its full say, so the memory check collects fully before each
 * sample and fits its slope to those samples.
 *
 * `gc` is only a global with --expose-gc. Without it, the flag is set at run time and `gc` is taken from a new
 * context — the public `v8`/`vm` APIs, but V8 documents flags changed after start-up as unsupported, hence the
 * self-test below: if the function is not there, or throws, the check runs without collections and says so.
 */
export type FullCollection = () => void;

let cached: FullCollection | null | undefined;

/** A function that runs a full (major) garbage collection of this thread's heap, or null where none can be had. */
export function fullCollection(): FullCollection | null {
  if (cached !== undefined) return cached;
  cached = null;
  const exposed = (globalThis as { gc?: unknown }).gc;
  let gc: unknown = exposed;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch {
      gc = undefined;
    }
  }
  if (typeof gc !== 'function') return cached;
  try {
    (gc as () => void)();
  } catch {
    return cached;
  }
  cached = gc as FullCollection;
  return cached;
}
