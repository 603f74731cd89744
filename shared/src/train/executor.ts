import type { Dataset } from '../data/dataset.js';
import type { BatchStats } from '../model/network.js';
import type { Tensor } from '../tensor/tensor.js';
import type { GradientStream } from './overlap/gradient-stream.js';
import type { ParameterGateRef } from './overlap/parameter-gates.js';

/** Where a model's micro-batches are computed: the main thread (LocalExecutor) or pool threads. */
export interface GradientExecutor {
  /**
   * Forward + backward over samples `indices[start, end)` of `data` for optimizer step `step`,
   * leaving the SUM of the update slots over those samples in the model's flat slot buffer.
   * The work is split into micro-batches of a fixed size, summed in micro-batch order, so the
   * result does not depend on how many threads ran them. `firstMicro` (default 0) is the index of the first
   * micro-batch within the global batch: a cluster rank whose shard starts at micro-batch k of the global
   * batch passes k, so its dropout/noise draws — derived from (seed, step, micro-batch) — are the ones a
   * single process would make for the same samples.
   */
  computeGradients(data: Dataset, indices: ArrayLike<number>, start: number, end: number, step: number, firstMicro?: number, stream?: GradientStream, gate?: ParameterGateRef): Promise<BatchStats>;
  /**
   * Whether `computeGradients` takes a `gate`: the call may then start before the parameters are final, and each
   * layer's forward waits for its gate (Note [parameters final]). Only executors whose forward runs off the main
   * thread can: the main thread is the one that opens the gates.
   */
  readonly acceptsParameterGates: boolean;
  /** Loss/metric sums in inference mode over samples indices[start, end). */
  evaluate(data: Dataset, indices: ArrayLike<number>, start: number, end: number): Promise<BatchStats>;
  /** Model outputs for samples indices[start, end), copied out of backend memory: [n, ...outputShape]. */
  predict(data: Dataset, indices: ArrayLike<number>, start: number, end: number): Promise<Tensor>;
  close(): Promise<void>;
}

/** Adds `b` into `a` (sums of per-sample statistics from two micro-batches). */
export function addStats(a: BatchStats, b: BatchStats): BatchStats {
  const extras: Record<string, number> = { ...a.extras };
  for (const [k, v] of Object.entries(b.extras)) extras[k] = (extras[k] ?? 0) + v;
  const sum: BatchStats = { lossSum: a.lossSum + b.lossSum, count: a.count + b.count, extras };
  if (a.correct !== undefined || b.correct !== undefined) sum.correct = (a.correct ?? 0) + (b.correct ?? 0);
  if (a.confusion !== undefined || b.confusion !== undefined) sum.confusion = addCounts(a.confusion, b.confusion);
  if (a.gateWaitMs !== undefined || b.gateWaitMs !== undefined) sum.gateWaitMs = Math.max(a.gateWaitMs ?? 0, b.gateWaitMs ?? 0);
  return sum;
}

export function emptyStats(): BatchStats {
  return { lossSum: 0, count: 0, extras: {} };
}

function addCounts(a: number[] | undefined, b: number[] | undefined): number[] {
  if (a === undefined) return [...b!];
  if (b === undefined) return [...a];
  return a.map((v, i) => v + b[i]!);
}
