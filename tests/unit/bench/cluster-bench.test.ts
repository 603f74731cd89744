import { describe, expect, it } from 'vitest';
import { independentBatches, samplesPerSecond, sumByRole } from '../../../bench/src/cluster/cluster-bench.js';
import type { StepTimingSample } from '../../../shared/src/monitor/run-observer.js';

const step = (s: number, wallMs: number, samples: number[]): StepTimingSample => ({ step: s, wallMs, ranks: samples.map((n, rank) => ({ rank, computeMs: wallMs, allreduceMs: 0, waitMs: 0, samples: n })) });

describe('bench cluster: samples/s over the K steps after the warm-up', () => {
  it('counts only steps W … W+K−1 (from the first step in the file, e.g. a resumed run), all ranks\' samples over their summed wall time', () => {
    const steps = [step(40, 1000, [32, 32]), step(41, 500, [32, 32]), step(42, 10, [32, 32]), step(43, 30, [32, 32]), step(44, 9999, [32, 32])];
    // W = 2, K = 2: steps 42 and 43, 128 samples in 40 ms.
    expect(samplesPerSecond(steps, 2, 2, 'launch')).toBeCloseTo(3200, 6);
  });
  it('refuses a file with fewer steps than warm-up + measured (the config ended first)', () => {
    expect(() => samplesPerSecond([step(0, 1, [64]), step(1, 1, [64])], 1, 5, 'train')).toThrow(/timed 1 of the 5 steps after warm-up/);
  });
});

describe('bench cluster: the no-communication reference (Note [the no-communication reference])', () => {
  it('gives each independent process the batch its launch rank would get: sizes differ by at most one, lower ranks first, summing to the batch', () => {
    expect(independentBatches(64, 2)).toEqual([32, 32]);
    expect(independentBatches(65, 2)).toEqual([33, 32]);
    expect(independentBatches(10, 4)).toEqual([3, 3, 2, 2]);
    for (const [b, n] of [[7, 3], [100, 7], [4, 4]] as const) expect(independentBatches(b, n).reduce((a, x) => a + x, 0)).toBe(b);
  });
  it('refuses a batch smaller than the number of processes (one would train on nothing), naming the field and value', () => {
    expect(() => independentBatches(3, 4)).toThrow(/training\.batchSize.*at least --workers \(4\).*3/s);
  });
  it('adds the processes\' CPU per step role by role (their steps together are one global step)', () => {
    expect(sumByRole([{ train: 12.5 }, { train: 11 }])).toEqual({ train: 23.5 });
    expect(sumByRole([{ worker: 1, coordinator: 2 }, { worker: 3 }])).toEqual({ worker: 4, coordinator: 2 });
    expect(sumByRole([])).toEqual({});
  });
});
