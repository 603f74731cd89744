import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAllreduceBench } from '../../../bench/src/allreduce/allreduce-bench.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

let nats: NatsHandle;

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

// The benchmark's children are the compiled bench/dist (built by `npm run build` / `npx tsc -b`).
describe('bench allreduce: small vectors against the round trip', () => {
  it('reports one latency row per N and size (≤ 1 MB), each with its own round trip, with replicas agreeing; no single stream without a size above 1 MB', async () => {
    const lines: string[] = [];
    const result = await runAllreduceBench({ workers: [2, 3], mb: [0.05, 0.3], latencySteps: 12, natsUrl: nats.url, log: (l) => lines.push(l) });
    expect(result.results).toEqual([]);
    expect(result.singleStreamMBps).toBeUndefined();
    expect(result.latency.map((r) => [r.workers, r.mb])).toEqual([
      [2, 0.05],
      [2, 0.3],
      [3, 0.05],
      [3, 0.3],
    ]);
    for (const row of result.latency) {
      expect(row.replicasAgree, `N = ${row.workers}, ${row.mb} MB`).toBe(true);
      expect(row.ms).toBeGreaterThan(0);
      expect(row.msP10).toBeLessThanOrEqual(row.ms);
      expect(row.ms).toBeLessThanOrEqual(row.msP90);
      expect(row.roundTripMs).toBeGreaterThan(0);
      expect(row.roundTripP10).toBeLessThanOrEqual(row.roundTripMs);
      expect(row.roundTripMs).toBeLessThanOrEqual(row.roundTripP90);
      expect(row.cpuMsRanks).toBeGreaterThan(0);
      expect(row.roundTripCpuMs).toBeGreaterThan(0);
    }
    expect(lines.filter((l) => /^\s+[23]\s+(50|300)\s+f32\s/.test(l))).toHaveLength(4);
  }, 120_000);
});

describe('bench allreduce: where a direct-link row\'s CPU goes (Note [work besides the bytes], Note [the links\' all-to-all])', () => {
  it('measures, per row, the links\' all-to-all among the ranks (alternating with the all-reduce\'s runs) and the sums and landing every all-reduce must do, bounding measured ÷ ceiling', async () => {
    const lines: string[] = [];
    const result = await runAllreduceBench({ workers: [2, 3], mb: [2], repeats: 1, transport: ['direct'], natsUrl: nats.url, log: (l) => lines.push(l) });
    expect(result.results.map((r) => [r.workers, r.transport])).toEqual([
      [2, 'direct'],
      [3, 'direct'],
    ]);
    for (const row of result.results) {
      expect(row.replicasAgree).toBe(true);
      // Every rank sent its 2S/N to each peer and received as much: an all-to-all that moved nothing would have no rate.
      expect(row.linkMesh!.mbps).toBeGreaterThan(0);
      expect(row.linkMesh!.cpuSecPerGB).toBeGreaterThan(0);
      // 2(N−1)·S sent in all, charged at the all-to-all's measured cost.
      expect(row.linkMesh!.cpuMs).toBeCloseTo(((2 * (row.workers - 1) * 2e6) / 1e9) * row.linkMesh!.cpuSecPerGB * 1e3, 6);
      expect(row.necessaryWork!.sumMs).toBeGreaterThanOrEqual(0);
      expect(row.necessaryWork!.landingMs).toBeGreaterThanOrEqual(0);
      expect(row.bestCeilingFraction!).toBeGreaterThan(0);
      expect(row.bestCeilingFraction!).toBeLessThanOrEqual(1);
      expect(row.bestCeilingFractionAllToAll!).toBeGreaterThan(0);
      // The user and system parts add up to the ranks' CPU (both readings come from the same cpuUsage calls).
      expect(row.cpuMsRanksUser! + row.cpuMsRanksSystem!).toBeCloseTo(row.cpuMsRanks, 3);
      expect(row.linkMeshUserMs! + row.linkMeshSystemMs!).toBeGreaterThan(0);
    }
    expect(lines.filter((l) => /user \+ system CPU ms per run: all-reduce -?\d+ \+ -?\d+, all-to-all \d+ \+ \d+/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /ranks' CPU \d+ ms = minimum bytes \d+ \+ all-to-all -?\d+ \+ rank-order sums \d+ \+ landing \d+ \+ rest -?\d+.*the all-to-all alone, alternating with the runs: [\d.]+ CPU s per GB/s.test(l))).toHaveLength(2);
  }, 120_000);
});
