import { describe, expect, it } from 'vitest';
import { ceilingRatio, collectiveMs, linkMeshCost, minimumRanksCpuMs } from '../../../bench/src/allreduce/allreduce-bench.js';
import { bestCeilingFraction, measureNecessaryWork } from '../../../bench/src/allreduce/necessary-work.js';

describe('the all-reduce CPU ceiling (bench allreduce)', () => {
  const cpu = { publisherSecPerGB: 0.25, subscriberSecPerGB: 0.65, serverSecPerGB: 2 };

  it('matches a hand computation: N = 4, 40 MB, server 280 ms, 2 cores, single stream 500 MB/s', () => {
    // ranks: 4·0.04·0.25 + 6·0.04·0.65 = 0.04 + 0.156 s = 196 ms; (196 + 280) / 2 = 238 ms;
    // busbw = 1.5 · 40 MB / 0.238 s = 252.1 MB/s; ÷ 500 = 0.504.
    expect(ceilingRatio(4, 40e6, 280, cpu, 500, 2)).toBeCloseTo(0.5042, 3);
  });

  it('falls as the server or the clients cost more, and is unknown without the server CPU', () => {
    const base = ceilingRatio(3, 40e6, 200, cpu, 500, 2)!;
    expect(ceilingRatio(3, 40e6, 300, cpu, 500, 2)!).toBeLessThan(base);
    expect(ceilingRatio(3, 40e6, 200, { ...cpu, subscriberSecPerGB: 1 }, 500, 2)!).toBeLessThan(base);
    expect(ceilingRatio(3, 40e6, undefined, cpu, 500, 2)).toBeUndefined();
  });

  it('charges the ranks exactly N·S published and 2(N−1)·S received at the per-GB client costs', () => {
    // N = 3, 40 MB: 3·0.04·0.25 + 4·0.04·0.65 = 0.03 + 0.104 s = 134 ms.
    expect(minimumRanksCpuMs(3, 40e6, cpu)).toBeCloseTo(134, 6);
    expect(minimumRanksCpuMs(2, 40e6, { ...cpu, subscriberSecPerGB: 0 })).toBeCloseTo(20, 6);
  });
});

describe('the time of one all-reduce (bench allreduce, Note [every rank starts prepared])', () => {
  const done = (ms: number, startMs?: number, endMs?: number) => ({ type: 'done' as const, step: 0, ms, ...(startMs === undefined ? {} : { startMs }), ...(endMs === undefined ? {} : { endMs }) });

  it('runs from the first rank\'s start to the last rank\'s resolution on the shared clock', () => {
    // Rank 1 starts 3 ms after rank 0 and finishes last: the collective took 1000 → 1063, not either rank's own 60.
    expect(collectiveMs([done(58, 1000, 1058), done(60, 1003, 1063), done(55, 1001, 1056)])).toBe(63);
  });

  it('is never less than the longest rank\'s own time, and falls back to it without clock readings', () => {
    expect(collectiveMs([done(70, 1000, 1050), done(40, 1001, 1041)])).toBe(70);
    expect(collectiveMs([done(70), done(40)])).toBe(70);
    expect(collectiveMs([{ type: 'failed', message: 'x' }, done(12, 5, 17)])).toBe(12);
  });
});

describe('the work every all-reduce does besides moving bytes (bench allreduce, Note [work besides the bytes])', () => {
  it('caps measured ÷ ceiling at bytes ÷ (bytes + sums + landing): N = 4, 86 ms of bytes, 5 + 6 ms of work', () => {
    // 86 / (86 + 5 + 6) = 0.8866.
    expect(bestCeilingFraction(86, { sumMs: 5, landingMs: 6 })).toBeCloseTo(0.8866, 4);
    expect(bestCeilingFraction(86, { sumMs: 0, landingMs: 0 })).toBe(1);
  });

  it('leaves less room the more the sums or the landing cost', () => {
    const base = bestCeilingFraction(60, { sumMs: 3, landingMs: 4 });
    expect(bestCeilingFraction(60, { sumMs: 6, landingMs: 4 })).toBeLessThan(base);
    expect(bestCeilingFraction(60, { sumMs: 3, landingMs: 8 })).toBeLessThan(base);
  });

  it('measures the sums and the landing of a real (small) all-reduce as CPU times, and more ranks land more', () => {
    const two = measureNecessaryWork(2, 1 << 20, 3);
    const four = measureNecessaryWork(4, 1 << 20, 3);
    for (const w of [two, four]) {
      expect(Number.isFinite(w.sumMs) && w.sumMs >= 0).toBe(true);
      expect(Number.isFinite(w.landingMs) && w.landingMs >= 0).toBe(true);
    }
    // (N−1)·S values are landed in all: 3·4 MiB at N = 4 against 1·4 MiB at N = 2 (CPU clocks tick in ≥ 1 µs).
    expect(four.landingMs).toBeGreaterThan(two.landingMs);
  });
});

describe('the links\' all-to-all, charged for one all-reduce (bench allreduce, Note [the links\' all-to-all])', () => {
  it('charges 2(N−1)·S at the CPU per GB its runs spent, and rates it by the median run', () => {
    // N = 4, 40 MB: runs sent 240 MB each; 3 runs used 100, 110, 120 ms of CPU → 330 ms / 0.72 GB = 0.4583 s per GB;
    // one all-reduce sends 6 · 40 MB = 0.24 GB → 110 ms; median wall 60 ms → 4000 MB/s.
    const cost = linkMeshCost(4, 40e6, 240e6, [100, 110, 120], [70, 60, 50]);
    expect(cost.cpuSecPerGB).toBeCloseTo(0.4583, 4);
    expect(cost.cpuMs).toBeCloseTo(110, 6);
    expect(cost.mbps).toBeCloseTo(4000, 6);
  });
});
