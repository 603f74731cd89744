import { describe, expect, it } from 'vitest';
import { samplesPerSecond } from '../../../bench/src/cluster/cluster-bench.js';
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
