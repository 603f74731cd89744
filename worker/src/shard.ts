import { globalBatchRange, shardRange } from '@gradmesh/shared/internal';

/** What one rank computes in one step (see Note [Sharding] in shared/src/data/sampler.ts). */
export interface StepShard {
  /** Positions [globalStart, globalEnd) of the global batch in the epoch's permutation. */
  readonly globalStart: number;
  readonly globalEnd: number;
  /** This rank's contiguous part of it; empty ([e, e)) when the batch has fewer samples than ranks. */
  readonly start: number;
  readonly end: number;
  /** Index of this rank's first micro-batch for the dropout/noise draws (see below). */
  readonly firstMicro: number;
}

/**
 * Note [micro-batch numbering across ranks]
 * A micro-batch's random draws (dropout masks, VAE noise) derive from (seed, step, micro-batch index). One
 * process numbers the micro-batches of a global batch 0, 1, 2, …; when this rank's shard starts on a
 * micro-batch boundary of the global batch, its first micro-batch IS global micro-batch
 * (start − globalStart) / microBatch. When EVERY rank's shard starts on a boundary (training.microBatch
 * divides every shard offset, e.g. equal shards that are multiples of it), each rank uses that index and the
 * N-worker step sees exactly the samples and draws of the single-process step. Otherwise the micro-batches
 * do not coincide with the single process's anyway, and every rank uses its sample offset
 * (start − globalStart) as its first index: a rank has at most as many micro-batches as samples, so the
 * ranks' index ranges stay disjoint and no two ranks draw the same mask. (Mixing the two rules could
 * overlap, hence "every rank", which each rank can decide alone: shard offsets are a pure function.)
 */
export function stepShard(batchIndex: number, trainCount: number, batchSize: number, rank: number, worldSize: number, microBatch: number): StepShard {
  const [globalStart, globalEnd] = globalBatchRange(batchIndex, trainCount, batchSize);
  const [start, end] = shardRange(globalStart, globalEnd, rank, worldSize);
  const offset = start - globalStart;
  let aligned = true;
  for (let r = 0; r < worldSize && aligned; r++) aligned = (shardRange(globalStart, globalEnd, r, worldSize)[0] - globalStart) % microBatch === 0;
  const firstMicro = aligned ? offset / microBatch : offset;
  return { globalStart, globalEnd, start, end, firstMicro };
}
