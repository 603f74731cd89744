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
