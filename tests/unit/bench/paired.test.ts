import { describe, expect, it } from 'vitest';
import { measurePaired, pairedRatio, type PairedResult } from '../../../bench/src/backend/paired.js';

describe('paired A/B windows (Note [paired windows])', () => {
  it('warms every subject up, then alternates them round by round in mirrored order, one rate per round each', async () => {
    const log: string[] = [];
    const subject = (label: string) => ({ label, units: 1, step: () => log.push(label), dispose: async () => {} });
    // windowMs 0: every window is exactly one step.
    const results = await measurePaired([subject('A'), subject('B'), subject('C')], { rounds: 3, windowMs: 0, warmupMs: 0 });
    expect(log.join('')).toBe('ABC' + 'ABC' + 'CBA' + 'ABC');
    expect(results.map((r) => [r.label, r.rates.length])).toEqual([['A', 3], ['B', 3], ['C', 3]]);
    expect(results.every((r) => r.rates.every((x) => x > 0) && r.min <= r.median && r.median <= r.max)).toBe(true);
  });

  it('takes the ratio round by round, not of the medians', () => {
    const result = (rates: number[]): PairedResult => ({ label: 'x', rates, median: 0, min: 0, max: 0 });
    // Per round: 2, 1, 4 → median 2; the ratio of the medians would be 10 / 5 = 2 too, so use skewed rounds.
    const ratio = pairedRatio(result([20, 10, 40]), result([10, 10, 10]));
    expect(ratio).toEqual({ median: 2, min: 1, max: 4 });
    const skewed = pairedRatio(result([10, 30, 30]), result([10, 10, 30]));
    expect(skewed).toEqual({ median: 1, min: 1, max: 3 });
    expect(() => pairedRatio(result([1, 2]), result([1]))).toThrow(/different runs/);
  });
});
