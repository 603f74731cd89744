import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, readCheckpoint } from '../../../shared/src/checkpoint/store.js';
import { loadRunConfig } from '../../../shared/src/config/run-config.js';
import { datasetFromConfig } from '../../../shared/src/data/source.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import { ClusterHarness, cnnConfig, mlpConfig, writeImageData } from './harness.js';

/**
 * N-worker training over a real NATS equals single-process Model.fit on the same global batches.
 * 300 rows, validationSplit 0.2 → 240 training samples, batch 24 → 10 steps an epoch, 3 epochs = 30 steps.
 * When every rank's shard is exactly one micro-batch, the cluster adds the same micro-batch sums in the same
 * order as one process (v0 + v1 + v2 in rank order = micro-batch order), so the parameters must be
 * bitwise identical; with several micro-batches per rank the association differs ((m0+m1)+(m2+m3) vs
 * ((m0+m1)+m2)+m3) and the required bound is 1e-5 relative (max |Δ| ≤ 1e-5 · max |θ|).
 */
let h: ClusterHarness;

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 300);
});
afterAll(async () => h?.close());

async function singleProcess(configFile: string): Promise<Map<string, Float32Array>> {
  const config = loadRunConfig(configFile);
  const { train } = datasetFromConfig(config.dataset, { path: 'dataset' }, config.baseDir);
  const model = await createModel(config, { backend: 'pool', threads: 1 });
  try {
    await model.fit(train);
    return new Map(model.params.entries.map((p) => [`params/${p.layer}/${p.spec.name}`, p.value.data.slice()]));
  } finally {
    await model.close();
  }
}

async function clusterParams(name: string, configFile: string, workers: number): Promise<Map<string, Float32Array>> {
  const runId = h.runId(name);
  const dir = h.path(`ckpt-${runId}`);
  const { coordinator, workers: ws } = h.cluster(runId, configFile, workers, { coordinatorArgs: ['--checkpoint-dir', dir, '--checksum-every', '5'], workerArgs: ['--checkpoint-dir', dir] });
  const exit = await coordinator.exit(120_000);
  expect(exit.code, coordinator.output).toBe(0);
  for (const w of ws) expect((await w.exit(30_000)).code, w.output).toBe(0);
  const latest = await latestCheckpoint(dir);
  expect(latest?.step).toBe(30);
  const { tensors } = await readCheckpoint(latest!.path);
  return new Map(tensors.filter((t) => t.name.startsWith('params/')).map((t) => [t.name, t.data]));
}

function compare(cluster: Map<string, Float32Array>, single: Map<string, Float32Array>): { bitwise: boolean; relative: number } {
  expect([...cluster.keys()]).toEqual([...single.keys()]);
  let maxDiff = 0;
  let maxAbs = 0;
  let bitwise = true;
  for (const [name, a] of cluster) {
    const b = single.get(name)!;
    expect(a.length).toBe(b.length);
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < a.length; i++) {
      if (ua[i] !== ub[i]) bitwise = false;
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
    }
  }
  return { bitwise, relative: maxDiff / maxAbs };
}

// bucketBytes 4: every layer with parameters is a bucket of its own, all-reduced while backward goes on
// (the default 512 KiB makes these small models one bucket): overlap must not change a bit either.
const cases = [
  { model: 'MLP', workers: 2, microBatch: 12, make: mlpConfig },
  { model: 'MLP', workers: 3, microBatch: 4, make: mlpConfig },
  { model: 'CNN', workers: 2, microBatch: 6, make: cnnConfig },
  { model: 'CNN', workers: 3, microBatch: 8, make: cnnConfig },
  { model: 'MLP', workers: 2, microBatch: 12, make: mlpConfig, bucketBytes: 4 },
  { model: 'CNN', workers: 3, microBatch: 8, make: cnnConfig, bucketBytes: 4 },
  { model: 'CNN', workers: 2, microBatch: 4, make: cnnConfig, bucketBytes: 4 },
];

describe('N-worker training equals single-process training on the same global batches', () => {
  for (const c of cases) {
    const perRank = 24 / c.workers / c.microBatch;
    const exact = perRank === 1;
    const buckets = c.bucketBytes === undefined ? '' : ', one bucket per layer overlapped with backward';
    it(`${c.model}, N = ${c.workers}, ${perRank} micro-batch(es) per rank${buckets}: parameters after 30 steps are ${exact ? 'bitwise identical' : 'within 1e-5 relative'}`, async () => {
      const tag = `${c.model}-${c.workers}-${c.microBatch}${c.bucketBytes === undefined ? '' : `-b${c.bucketBytes}`}`;
      const allreduce = c.bucketBytes === undefined ? {} : { allreduce: { bucketBytes: c.bucketBytes } };
      const configFile = h.file(`${tag}.json`, c.make({ epochs: 3, batchSize: 24, validationSplit: 0.2, microBatch: c.microBatch, ...allreduce }));
      const single = await singleProcess(configFile);
      const cluster = await clusterParams(`eq-${tag.toLowerCase()}`, configFile, c.workers);
      const { bitwise, relative } = compare(cluster, single);
      console.log(`${c.model} N=${c.workers}: bitwise ${bitwise}, max relative difference ${relative.toExponential(2)}`);
      if (exact) expect(bitwise).toBe(true);
      expect(relative).toBeLessThanOrEqual(1e-5);
      // The runs must have trained (a test that compares two untrained models could not fail).
      const untrained = await createModel(loadRunConfig(configFile), { backend: 'reference' });
      const moved = compare(new Map(untrained.params.entries.map((p) => [`params/${p.layer}/${p.spec.name}`, p.value.data])), single);
      expect(moved.relative).toBeGreaterThan(1e-3);
    });
  }
});

describe('overlapping the all-reduce with backward changes no bit (the same per-bucket rank-order sums)', () => {
  it('CNN, N = 2, 3 micro-batches per rank: one bucket per layer with overlap = one bucket after compute, bitwise', async () => {
    const training = { epochs: 3, batchSize: 24, validationSplit: 0.2, microBatch: 4 };
    const overlapped = h.file('overlap-on.json', cnnConfig({ ...training, allreduce: { bucketBytes: 4 } }));
    const sequential = h.file('overlap-off.json', cnnConfig({ ...training, allreduce: { overlap: false } }));
    const a = await clusterParams('eq-overlap-on', overlapped, 2);
    const b = await clusterParams('eq-overlap-off', sequential, 2);
    expect(compare(a, b).bitwise).toBe(true);
  });
});
