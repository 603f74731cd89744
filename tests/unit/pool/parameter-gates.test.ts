import { afterAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import type { Model } from '../../../shared/src/train/model.js';
import { layerSlotElements, planGradientBuckets } from '../../../shared/src/train/overlap/gradient-buckets.js';
import { ParameterGates, StepWithdrawn, waitForParameters } from '../../../shared/src/train/overlap/parameter-gates.js';
import { syntheticClassification } from '../../helpers/synthetic.js';

// The pool's threads run the compiled shared/dist code: `npm test` builds first.
const open: Model[] = [];
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

const config = parseRunConfig({
  seed: 7,
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
      { type: 'dense', units: 4 },
    ],
  },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  training: { epochs: 1, batchSize: 40, microBatch: 8 },
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
