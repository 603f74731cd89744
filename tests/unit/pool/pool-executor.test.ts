import { afterAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import type { Model } from '../../../shared/src/train/model.js';
import { createPoolRuntime } from '../../../shared/src/kernels/pool/create-pool-model.js';
import { parallelMatMul } from '../../../shared/src/kernels/pool/parallel-matmul.js';
import { poolLayout } from '../../../shared/src/kernels/pool/layout.js';
import { Random } from '../../../shared/src/random.js';
import { syntheticClassification } from '../../helpers/synthetic.js';
import { layerSlotElements, planGradientBuckets } from '../../../shared/src/train/overlap/gradient-buckets.js';
import { ParameterGates, StepWithdrawn, waitForParameters } from '../../../shared/src/train/overlap/parameter-gates.js';

// The pool's threads run the compiled shared/dist code: `npm test` builds first.
const open: Model[] = [];
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

const config = parseRunConfig({
  seed: 5,
  dataset: 'mnist',
  model: {
    kind: 'sequential',
    inputShape: [8, 8, 1],
    layers: [
      { type: 'conv2d', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'batchNorm' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 24, activation: 'tanh' },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 4 },
    ],
  },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  training: { epochs: 1, batchSize: 40, microBatch: 8 },
});

async function trained(backend: 'pool' | 'reference', threads: number, steps: number): Promise<Model> {
  const model = await createModel(config, { backend, threads });
  open.push(model);
  await model.fit(syntheticClassification(400, 8, 4, 21), { maxSteps: steps });
  return model;
}

describe('pool backend', () => {
  it('gives bitwise-identical parameters with 1, 2 and 3 threads (fixed micro-batch split, ordered sum)', async () => {
    const sums = [];
    for (const threads of [1, 2, 3]) sums.push((await trained('pool', threads, 6)).params.checksum());
    expect(new Set(sums).size).toBe(1);
  });

  it('computes the same gradients as the reference backend (within float32 tolerance)', async () => {
    const data = syntheticClassification(80, 8, 4, 22);
    const indices = Uint32Array.from({ length: 40 }, (_, i) => i);
    const pool = await createModel(config, { backend: 'pool', threads: 2 });
    const reference = await createModel(config, { backend: 'reference' });
    open.push(pool, reference);
    expect(pool.params.checksum()).toBe(reference.params.checksum()); // same initialisation
    const a = await pool.executor.computeGradients(data, indices, 0, 40, 0);
    const b = await reference.executor.computeGradients(data, indices, 0, 40, 0);
    expect(a.count).toBe(40);
    expect(a.lossSum).toBeCloseTo(b.lossSum, 3);
    const g1 = pool.params.slots.data;
    const g2 = reference.params.slots.data;
    let maxAbs = 0;
    let scale = 0;
    for (let i = 0; i < g1.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(g1[i]! - g2[i]!));
      scale = Math.max(scale, Math.abs(g2[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(maxAbs / scale).toBeLessThan(1e-4);
  });

  it('evaluates and predicts like the reference backend', async () => {
    const data = syntheticClassification(150, 8, 4, 23);
    const pool = await createModel(config, { backend: 'pool', threads: 2 });
    const reference = await createModel(config, { backend: 'reference' });
    open.push(pool, reference);
    const [e1, e2] = [await pool.evaluate(data), await reference.evaluate(data)];
    expect(e1.count).toBe(150);
    expect(e1.loss).toBeCloseTo(e2.loss, 4);
    expect(e1.accuracy).toBe(e2.accuracy);
    const [p1, p2] = [await pool.predict(data, 10, 20), await reference.predict(data, 10, 20)];
    expect(p1.shape).toEqual([10, 4]);
    for (let i = 0; i < p1.size; i++) expect(p1.data[i]).toBeCloseTo(p2.data[i]!, 5);
  });
});

describe('parallel GEMM', () => {
  it('a row-split GEMM over 1, 2 and 3 threads equals the single-thread GEMM bit for bit', async () => {
    const rng = new Random(3);
    const results: string[] = [];
    for (const threads of [1, 2, 3]) {
      const { pool, backend } = createPoolRuntime(threads);
      try {
        const a = backend.allocPersistent([67, 45]);
        const b = backend.allocPersistent([45, 29]);
        const out = backend.allocPersistent([67, 29]);
        const local = backend.allocPersistent([67, 29]);
        const r = new Random(3);
        a.data.forEach((_, i) => (a.data[i] = r.uniform(-1, 1)));
        b.data.forEach((_, i) => (b.data[i] = r.uniform(-1, 1)));
        await parallelMatMul(pool, a, b, out);
        backend.kernels.matMul(a, b, local);
        expect(Buffer.from(out.data.slice().buffer).equals(Buffer.from(local.data.slice().buffer))).toBe(true);
        results.push(Buffer.from(out.data.slice().buffer).toString('base64'));
      } finally {
        await pool.destroy();
      }
    }
    expect(new Set(results).size).toBe(1);
    expect(rng.next()).toBeGreaterThanOrEqual(0);
  });

  it('lays out disjoint scratch ranges above the persistent region', () => {
    const layout = poolLayout(3, 1 << 20);
    const ranges = [layout.persistent, ...layout.threadScratch, layout.mainScratch];
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
    expect(layout.mainScratch[1]).toBeLessThanOrEqual(2 ** 32);
  });
});

describe('pool backend streaming gradient buckets (Note [gradients final])', () => {
  it('releases every bucket once, in order, before it resolves; the released slots are final then and the sums are bitwise those of an unstreamed call', async () => {
    const data = syntheticClassification(80, 8, 4, 24);
    const indices = Uint32Array.from({ length: 40 }, (_, i) => i);
    const streamed = await createModel(config, { backend: 'pool', threads: 2 });
    const plain = await createModel(config, { backend: 'pool', threads: 2 });
    open.push(streamed, plain);
    const layers = layerSlotElements(streamed.network.layers);
    const buckets = planGradientBuckets(layers, 4); // one bucket per layer with parameters: conv, batchNorm, dense, dense
    expect(buckets.length).toBe(layers.filter((n) => n > 0).length);
    for (let step = 0; step < 3; step++) {
      // Five micro-batches of 8 on two threads: buckets wait for every micro-batch, summed in micro-batch order.
      await plain.executor.computeGradients(data, indices, 0, 40, step);
      const released: number[] = [];
      const atRelease: Float32Array[] = [];
      const slots = streamed.params.slots.data;
      await streamed.executor.computeGradients(data, indices, 0, 40, step, 0, {
        buckets,
        release: (b) => {
          released.push(b);
          atRelease.push(slots.slice(buckets[b]!.start, buckets[b]!.end));
        },
      });
      expect(released).toEqual(buckets.map((_, b) => b));
      buckets.forEach((bucket, b) => expect(Buffer.from(atRelease[b]!.buffer).equals(Buffer.from(slots.slice(bucket.start, bucket.end).buffer)), `bucket ${b} changed after its release`).toBe(true));
      expect(Buffer.from(slots.buffer, slots.byteOffset, slots.byteLength).equals(Buffer.from(plain.params.slots.data.buffer, plain.params.slots.data.byteOffset, plain.params.slots.data.byteLength))).toBe(true);
    }
  });
});

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('parameter gates (Note [parameters final])', () => {
  it('a thread passes a layer only when every bucket overlapping it is open to its ticket; a later ticket stays closed', () => {
    const gates = new ParameterGates([
      { start: 10, end: 20 },
      { start: 0, end: 10 },
    ]);
    const first = gates.draw();
    const second = gates.draw();
    expect(second.ticket).toBeGreaterThan(first.ticket);
    gates.open(1, first.ticket);
    // [0, 10) lies in bucket 1 only, open to the first ticket: no wait (a wait would block this test's thread).
    waitForParameters(first, 0, 10);
    gates.open(0, first.ticket);
    waitForParameters(first, 5, 15);
    expect(Atomics.load(gates.cells, 0)).toBeLessThan(second.ticket);
    gates.withdraw(second.ticket);
    // Withdrawn: it gives up at once rather than wait for buckets never opened to it.
    expect(() => waitForParameters(second, 0, 20)).toThrow(StepWithdrawn);
  });

  it('a gated pool step reads each layer only after its gate opens: parameters written between the openings are the ones its gradients see, bitwise', async () => {
    const data = syntheticClassification(80, 8, 4, 31);
    const indices = Uint32Array.from({ length: 40 }, (_, i) => i);
    const model = await createModel(config, { backend: 'pool', threads: 2 });
    open.push(model);
    // Bucket 0 = the dense layers (released first by backward), bucket 1 = convolution + batchNorm.
    const buckets = planGradientBuckets(layerSlotElements(model.network.layers), 4 * 1000);
    expect(buckets.length).toBe(2);
    const values = model.params.values.data;
    const before = values.slice();
    const after = values.map((v, i) => v * (1 + ((i % 7) - 3) / 50));

    // Expected: the gradients of the parameters `after`, computed ungated.
    values.set(after);
    await model.executor.computeGradients(data, indices, 0, 40, 3);
    const expected = model.params.slots.data.slice();

    // Gated: handed out while the parameters are still `before`; the first layers' values are written and opened,
    // then — after the threads had time to run the first layers and reach the dense ones — the dense layers'.
    values.set(before);
    const gates = new ParameterGates(buckets);
    const ref = gates.draw();
    const computing = model.executor.computeGradients(data, indices, 0, 40, 3, 0, undefined, ref);
    await later(30);
    values.set(after.subarray(buckets[1]!.start, buckets[1]!.end), buckets[1]!.start);
    gates.open(1, ref.ticket);
    await later(30);
    values.set(after.subarray(buckets[0]!.start, buckets[0]!.end), buckets[0]!.start);
    gates.open(0, ref.ticket);
    await computing;
    expect(bytes(model.params.slots.data).equals(bytes(expected))).toBe(true);
  });

  it('a withdrawn gated step rejects and leaves the pool usable: the next ungated step computes what it would have', async () => {
    const data = syntheticClassification(80, 8, 4, 32);
    const indices = Uint32Array.from({ length: 40 }, (_, i) => i);
    const model = await createModel(config, { backend: 'pool', threads: 2 });
    open.push(model);
    await model.executor.computeGradients(data, indices, 0, 40, 1);
    const expected = model.params.slots.data.slice();
    const gates = new ParameterGates(planGradientBuckets(layerSlotElements(model.network.layers)));
    const ref = gates.draw();
    const computing = model.executor.computeGradients(data, indices, 0, 40, 1, 0, undefined, ref);
    await later(20);
    gates.withdraw(ref.ticket);
    await expect(computing).rejects.toThrow(/withdrawn/);
    model.params.slots.data.fill(0);
    await model.executor.computeGradients(data, indices, 0, 40, 1);
    expect(bytes(model.params.slots.data).equals(bytes(expected))).toBe(true);
  });
});
