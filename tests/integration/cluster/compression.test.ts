import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * The compressed all-reduce (training.allreduce.compression, a DDP-style communication hook) end to end: the
 * replicas of a bf16 or fp16 run stay bitwise identical to each other (their checksums agree at every
 * comparison), and the model learns as well as with float32 pieces.
 */
let h: ClusterHarness;

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 600);
});
afterAll(async () => h?.close());

describe('compressed all-reduce in a cluster', () => {
  it('bf16 and fp16 runs of 2 workers: replicas agree, accuracy within 5 points of float32, parameters differ from it (the hook is on)', async () => {
    const reports: Record<string, Record<string, any>> = {};
    for (const compression of ['none', 'bf16', 'fp16']) {
      const config = h.file(`mlp-${compression}.json`, mlpConfig({ epochs: 3, batchSize: 16, microBatch: 8, allreduce: { compression } }));
      const report = h.path(`${compression}.json`);
      const { coordinator, workers } = h.cluster(h.runId(compression), config, 2, { coordinatorArgs: ['--report', report, '--checksum-every', '5'] });
      expect((await coordinator.exit(120_000)).code, coordinator.output).toBe(0);
      for (const w of workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
      reports[compression] = JSON.parse(readFileSync(report, 'utf8'));
    }
    for (const compression of ['bf16', 'fp16']) {
      const r = reports[compression]!;
      expect(r.replicaChecksumsAgree, compression).toBe(true);
      expect(r.checksumComparisons).toBeGreaterThan(10);
      expect(Math.abs(r.testAccuracy - reports['none']!.testAccuracy), compression).toBeLessThanOrEqual(0.05);
      expect(r.paramsChecksum).not.toBe(reports['none']!.paramsChecksum);
    }
  });
});
