import { InternalError } from '../errors.js';
import { Random } from '../random.js';

/**
 * Note [Sharding]: which samples each worker sees is a pure function of (seed, epoch, batch
 * index, rank, world size), like PyTorch's DistributedSampler with set_epoch:
 *
 *   permutation = epochPermutation(count, seed, epoch)          // same on every rank
 *   [start, end) = globalBatchRange(batch, count, globalBatch)   // a window of the permutation
 *   [s, e)       = shardRange(start, end, rank, worldSize)       // this rank's contiguous part
 *   micro-batches = microBatchRanges(s, e, microBatchSize)       // this rank's threads
 *
 * The permutation does not depend on the number of workers, and the shards of a global batch
 * concatenate to exactly that batch. Since losses and gradients are SUMS weighted by sample
 * count and divided once by the global count, any world size computes the same global batch.
 */

/** [start, end) positions into a permutation. */
export type Range = readonly [start: number, end: number];

/** The sample order of one epoch: a permutation of 0..count−1 drawn from Random.derive(seed, epoch). */
export function epochPermutation(count: number, seed: number, epoch: number): Uint32Array {
  checkCount(count);
  checkInt('epoch', epoch, 0);
  return Random.derive(seed, epoch).permutation(count);
}

/** Global batches per epoch; with dropLast a final short batch is skipped, else it is kept. */
export function batchesPerEpoch(count: number, globalBatchSize: number, dropLast: boolean): number {
  checkCount(count);
  checkInt('globalBatchSize', globalBatchSize, 1);
  return dropLast ? Math.floor(count / globalBatchSize) : Math.ceil(count / globalBatchSize);
}

/** Positions [start, end) of global batch `batchIndex`; the last one is short when globalBatchSize does not divide count. */
export function globalBatchRange(batchIndex: number, count: number, globalBatchSize: number): Range {
  checkCount(count);
  checkInt('globalBatchSize', globalBatchSize, 1);
  const batches = Math.ceil(count / globalBatchSize);
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= batches) {
    throw new InternalError(`globalBatchRange: batchIndex must be in 0..${batches - 1} for ${count} samples in batches of ${globalBatchSize}, got ${batchIndex}`);
  }
  const start = batchIndex * globalBatchSize;
  return [start, Math.min(start + globalBatchSize, count)];
}

/**
 * Rank `rank`'s contiguous part of the global batch [start, end). Sizes differ by at most one and
 * lower ranks take the extra samples. When the batch has fewer samples than ranks, the higher
 * ranks get an empty range [e, e): they still take part in the step (their gradient sum is zero
 * and their sample count 0), so the all-reduce stays in lock-step.
 */
export function shardRange(start: number, end: number, rank: number, worldSize: number): Range {
  checkRange('shardRange', start, end);
  checkInt('worldSize', worldSize, 1);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new InternalError(`shardRange: rank must be in 0..${worldSize - 1}, got ${rank}`);
  }
  const n = end - start;
  const base = Math.floor(n / worldSize);
  const extra = n % worldSize;
  const s = start + rank * base + Math.min(rank, extra);
  return [s, s + base + (rank < extra ? 1 : 0)];
}

/**
 * [start, end) cut into consecutive ranges of microBatchSize (the last may be shorter). Depends
 * only on the size, not on how many threads run them, so a worker's summation order — and its
 * result, bit for bit — is the same with 1 or 8 threads. An empty range gives no micro-batches.
 */
export function microBatchRanges(start: number, end: number, microBatchSize: number): Range[] {
  checkRange('microBatchRanges', start, end);
  checkInt('microBatchSize', microBatchSize, 1);
  const ranges: Range[] = [];
  for (let s = start; s < end; s += microBatchSize) ranges.push([s, Math.min(s + microBatchSize, end)]);
  return ranges;
}

function checkCount(count: number): void {
  checkInt('count', count, 0);
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new InternalError(`sampler: ${name} must be an integer ≥ ${min}, got ${value}`);
}

function checkRange(fn: string, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new InternalError(`${fn}: [${start}, ${end}) is not a range of positions`);
  }
}
