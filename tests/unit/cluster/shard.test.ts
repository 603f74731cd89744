import { describe, expect, it } from 'vitest';
import { stepShard } from '../../../worker/src/shard.js';

describe('step shards', () => {
  it('the ranks\' shards concatenate to the global batch', () => {
    for (const n of [1, 2, 3, 5]) {
      const shards = Array.from({ length: n }, (_, r) => stepShard(2, 100, 24, r, n, 4));
      expect(shards[0]!.start).toBe(48);
      for (let r = 1; r < n; r++) expect(shards[r]!.start).toBe(shards[r - 1]!.end);
      expect(shards[n - 1]!.end).toBe(72);
    }
  });

  it('aligned shards use the single process\'s micro-batch numbers (same dropout draws)', () => {
    // batch 24, 2 ranks of 12, micro-batch 6: the single process has micro-batches 0..3; rank 1 starts at 2.
    expect([0, 1].map((r) => stepShard(0, 100, 24, r, 2, 6).firstMicro)).toEqual([0, 2]);
    expect([0, 1, 2].map((r) => stepShard(0, 100, 24, r, 3, 8).firstMicro)).toEqual([0, 1, 2]);
  });

  it('unaligned shards use disjoint micro-batch number ranges on every rank', () => {
    for (const [batch, n, micro] of [[10, 3, 2], [24, 5, 4], [7, 2, 3], [64, 3, 32]] as const) {
      const used = new Set<number>();
      for (let r = 0; r < n; r++) {
        const s = stepShard(0, 1000, batch, r, n, micro);
        const count = Math.ceil((s.end - s.start) / micro);
        for (let m = 0; m < count; m++) {
          expect(used.has(s.firstMicro + m), `batch ${batch}, N ${n}, micro ${micro}, rank ${r}`).toBe(false);
          used.add(s.firstMicro + m);
        }
      }
    }
  });

  it('a last batch smaller than the world gives the higher ranks an empty shard', () => {
    // 50 samples in batches of 24: the last batch has 2 samples; with 3 ranks, rank 2 gets none.
    const last = [0, 1, 2].map((r) => stepShard(2, 50, 24, r, 3, 4));
    expect(last.map((s) => s.end - s.start)).toEqual([1, 1, 0]);
    expect(last[2]!.globalEnd - last[2]!.globalStart).toBe(2);
  });
});
