import { describe, expect, it } from 'vitest';
import { cpuSecondsOfStat, medianP90, parseStepTimings, quantile, stepFigures, type StepTimingLine } from '@gradmesh/experiment';

describe('per-step figures of the measured steps', () => {
  it('quantiles interpolate between the closest ranks: median of 1..4 is 2.5, p90 of 1..11 is 10', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile(Array.from({ length: 11 }, (_, i) => i + 1), 0.9)).toBeCloseTo(10, 12);
    expect(medianP90([7])).toEqual({ median: 7, p90: 7 });
    expect(quantile([], 0.5)).toBe(0);
  });

  it('a step’s compute / all-reduce / wait are means over its ranks; throughput = samples / summed wall time', () => {
    const step = (wallMs: number, a: number[], b: number[]): StepTimingLine => ({
      step: 0,
      wallMs,
      ranks: [a, b].map(([computeMs, allreduceMs], rank) => ({ rank, computeMs: computeMs!, allreduceMs: allreduceMs!, waitMs: wallMs - computeMs! - allreduceMs!, samples: 32 })),
    });
    const f = stepFigures([step(100, [40, 50], [60, 30]), step(200, [80, 100], [120, 60])]);
    expect(f.steps).toBe(2);
    expect(f.samplesPerSec).toBeCloseTo(128 / 0.3, 9);
    expect(f.computeSeconds.median).toBeCloseTo((0.05 + 0.1) / 2, 12);
    expect(f.allreduceSeconds.median).toBeCloseTo((0.04 + 0.08) / 2, 12);
    expect(f.waitSeconds.median).toBeCloseTo((0.01 + 0.02) / 2, 12);
    expect(f.stepSeconds.median).toBeCloseTo(0.15, 12);
    expect(f.stepSeconds.p90).toBeCloseTo(0.19, 12);
  });

  it('a torn last line (still being written) is not read', () => {
    const line = JSON.stringify({ step: 1, wallMs: 5, ranks: [] });
    expect(parseStepTimings(`${line}\n${line}\n{"step":`)).toHaveLength(2);
    expect(parseStepTimings(`${line}\n`)).toHaveLength(1);
    expect(parseStepTimings('')).toHaveLength(0);
  });

  it('CPU seconds come from utime + stime of /proc/<pid>/stat, even when the command name has spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    expect(cpuSecondsOfStat(stat)).toBe(3);
  });
});
