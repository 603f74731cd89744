import { describe, expect, it } from 'vitest';
import { batchesPerEpoch, epochPermutation, globalBatchRange, microBatchRanges, shardRange } from '../../../shared/src/data/sampler.js';
import { InternalError } from '../../../shared/src/errors.js';

describe('sampler', () => {
  it('epochPermutation is a permutation of 0..count−1', () => {
    const p = epochPermutation(1001, 42, 0);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1001 }, (_, i) => i));
  });

  it('same (seed, epoch) gives the same permutation; another epoch or seed gives another', () => {
    const a = epochPermutation(500, 7, 3);
    expect(epochPermutation(500, 7, 3)).toEqual(a);
    expect(epochPermutation(500, 7, 4)).not.toEqual(a);
    expect(epochPermutation(500, 8, 3)).not.toEqual(a);
  });

  it('batchesPerEpoch keeps a short last batch unless dropLast', () => {
    expect(batchesPerEpoch(10, 3, false)).toBe(4);
    expect(batchesPerEpoch(10, 3, true)).toBe(3);
    expect(batchesPerEpoch(9, 3, false)).toBe(3);
    expect(globalBatchRange(3, 10, 3)).toEqual([9, 10]);
    expect(() => globalBatchRange(4, 10, 3)).toThrow(InternalError);
  });

  it('global batches tile the epoch exactly once', () => {
    for (const [count, size] of [[10, 3], [7, 7], [5, 8], [64, 16]] as const) {
      const covered: number[] = [];
      for (let b = 0; b < batchesPerEpoch(count, size, false); b++) {
        const [s, e] = globalBatchRange(b, count, size);
        for (let i = s; i < e; i++) covered.push(i);
      }
      expect(covered).toEqual(Array.from({ length: count }, (_, i) => i));
    }
  });

  it('shards of every global batch concatenate exactly to it for worldSize 1..5, sizes differ by ≤ 1, lower ranks take the extra', () => {
    for (const count of [1, 2, 7, 13, 31]) {
      for (const size of [1, 3, 5, 7, 9]) {
        for (let world = 1; world <= 5; world++) {
          for (let b = 0; b < batchesPerEpoch(count, size, false); b++) {
            const [start, end] = globalBatchRange(b, count, size);
            let at = start;
            const sizes: number[] = [];
            for (let rank = 0; rank < world; rank++) {
              const [s, e] = shardRange(start, end, rank, world);
              expect(s).toBe(at);
              sizes.push(e - s);
              at = e;
            }
            expect(at).toBe(end);
            expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
            expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
          }
        }
      }
    }
  });

  it('gives the higher ranks an empty slice when the batch is smaller than the world', () => {
    expect([0, 1, 2, 3].map((r) => shardRange(10, 12, r, 4))).toEqual([[10, 11], [11, 12], [12, 12], [12, 12]]);
  });

  it('micro-batch ranges cover the slice exactly, in order, each at most microBatchSize', () => {
    for (const [s, e, m] of [[0, 10, 3], [5, 5, 4], [3, 11, 8], [2, 9, 1], [0, 7, 100]] as const) {
      const ranges = microBatchRanges(s, e, m);
      let at: number = s;
      for (const [a, b] of ranges) {
        expect(a).toBe(at);
        expect(b - a).toBeGreaterThan(0);
        expect(b - a).toBeLessThanOrEqual(m);
        at = b;
      }
      expect(at).toBe(e);
    }
    expect(microBatchRanges(0, 10, 3)).toEqual([[0, 3], [3, 6], [6, 9], [9, 10]]);
  });

  it('rejects nonsense arguments with an InternalError (the engine computes them)', () => {
    expect(() => shardRange(0, 4, 4, 4)).toThrow(InternalError);
    expect(() => microBatchRanges(0, 4, 0)).toThrow(InternalError);
    expect(() => batchesPerEpoch(10, 0, false)).toThrow(InternalError);
  });
});
