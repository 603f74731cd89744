import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, readCheckpoint } from '../../../shared/src/checkpoint/store.js';
import { loadRunConfig } from '../../../shared/src/config/run-config.js';
import { datasetFromConfig } from '../../../shared/src/data/source.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import { FAULT_NAN_ENV } from '../../../shared/src/train/fault-injection.js';
import { allFinite } from '../../../shared/src/train/finite.js';
import { ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * The NaN/Inf guard on a real cluster (issue 11, the chaos section's second test): rank 1's local gradient is
 * made NaN at step 5 with the test-only GRADMESH_FAULT_NAN. The all-reduce spreads the NaN to every replica,
 * every replica sees the same non-finite reduced vector and skips the update, the coordinator checks that
 * they all skipped, and the run completes. 300 rows, validationSplit 0.2 → 240 training samples, batch 24 →
 * 10 steps an epoch, 3 epochs = 30 steps; one micro-batch per rank, so the cluster equals one process bit
 * for bit — also when both skip step 5.
 */
let h: ClusterHarness;

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 300);
});
afterAll(async () => h?.close());

async function singleProcessWithNanAt(configFile: string, step: number): Promise<{ params: Map<string, Float32Array>; skipped: unknown }> {
  const config = loadRunConfig(configFile);
  const { train } = datasetFromConfig(config.dataset, { path: 'dataset' }, config.baseDir);
  const model = await createModel(config, { backend: 'pool', threads: 1 });
  process.env[FAULT_NAN_ENV] = `0:${step}`;
  try {
    const fit = await model.fit(train);
    return { params: new Map(model.params.entries.map((p) => [`params/${p.layer}/${p.spec.name}`, p.value.data.slice()])), skipped: fit.skippedSteps };
  } finally {
    delete process.env[FAULT_NAN_ENV];
    await model.close();
  }
}

describe('the NaN/Inf guard across replicas', () => {
  // bucketBytes 4: one bucket per layer, released during backward; the NaN lands in the last one (the first layer).
  for (const bucketBytes of [undefined, 4]) {
    it(`a gradient made NaN on rank 1 at step 5 is skipped on every rank, the run completes, replicas agree, the report lists it, and the result equals one process skipping step 5${bucketBytes === undefined ? '' : ' (one bucket per layer, overlapped)'}`, async () => {
      const allreduce = bucketBytes === undefined ? {} : { allreduce: { bucketBytes } };
      const configFile = h.file(`nan-mlp-${bucketBytes ?? 'default'}.json`, mlpConfig({ epochs: 3, batchSize: 24, validationSplit: 0.2, microBatch: 12, ...allreduce }));
      const runId = h.runId(`nan-${bucketBytes ?? 'default'}`);
      const dir = h.path(`ckpt-${runId}`);
      const report = h.path(`report-${runId}.json`);
      h.env[FAULT_NAN_ENV] = '1:5';
      // Checksums after every step: step 5 itself is compared across the replicas.
      const { coordinator, workers } = h.cluster(runId, configFile, 2, { coordinatorArgs: ['--checkpoint-dir', dir, '--checksum-every', '1', '--report', report], workerArgs: ['--checkpoint-dir', dir] });
      delete h.env[FAULT_NAN_ENV];
      const exit = await coordinator.exit(120_000);
      expect(exit.code, coordinator.output).toBe(0);
      for (const w of workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
      expect(coordinator.output).toMatch(/step 5 skipped: non-finite gradient on rank 1 \(1 in a row\)/);

      const r = JSON.parse(readFileSync(report, 'utf8'));
      expect(r.steps).toBe(30);
      expect(r.skippedSteps).toBe(1);
      expect(r.skipped).toEqual([{ step: 5, ranks: [1] }]);
      expect(r.replicaChecksumsAgree).toBe(true);
      expect(r.checksumComparisons).toBeGreaterThanOrEqual(30);
      expect(r.history.every((e: { trainLoss: number }) => Number.isFinite(e.trainLoss))).toBe(true);

      const latest = await latestCheckpoint(dir);
      expect(latest?.step).toBe(30);
      const { tensors } = await readCheckpoint(latest!.path);
      const cluster = new Map(tensors.filter((t) => t.name.startsWith('params/')).map((t) => [t.name, t.data]));
      for (const [name, values] of cluster) expect(allFinite(values), name).toBe(true);

      // One process skipping step 5 computes the same parameters bit for bit; one that does not skip differs (control).
      const single = await singleProcessWithNanAt(configFile, 5);
      expect(single.skipped).toEqual([{ step: 5, ranks: [0] }]);
      const unskipped = await singleProcessWithNanAt(configFile, 1_000);
      const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
      for (const [name, values] of cluster) {
        expect(bits(values), name).toBe(bits(single.params.get(name)!));
      }
      expect([...cluster].some(([name, values]) => bits(values) !== bits(unskipped.params.get(name)!))).toBe(true);
    });
  }

  it('with --max-skipped 1 the same fault stops the run with a ClusterError naming step 5 and rank 1 (exit 1), and no checkpoint after step 5 is written', async () => {
    const configFile = h.file('nan-mlp-stop.json', mlpConfig({ epochs: 3, batchSize: 24, validationSplit: 0.2, microBatch: 12, checkpointEverySteps: 1 }));
    const runId = h.runId('nan-stop');
    const dir = h.path(`ckpt-${runId}`);
    h.env[FAULT_NAN_ENV] = '1:5';
    const { coordinator, workers } = h.cluster(runId, configFile, 2, { coordinatorArgs: ['--checkpoint-dir', dir, '--max-skipped', '1'], workerArgs: ['--checkpoint-dir', dir] });
    delete h.env[FAULT_NAN_ENV];
    const exit = await coordinator.exit(120_000);
    expect(exit.code, coordinator.output).toBe(1);
    expect(coordinator.output).toMatch(/ClusterError: training diverged: the all-reduced gradient was not finite at 1 consecutive step, step 5 \(rank 1 at step 5\)/);
    for (const w of workers) await w.exit(30_000);
    expect((await latestCheckpoint(dir))?.step).toBe(5);
  });
});
