/**
 * The optimizer update in parts (Note [update in parts] in shared/src/train/update.ts): one step applied
 * range by range, in the caller's order, gives parameters, running statistics, optimizer state, step count,
 * penalty and gradient norm BITWISE equal to the whole update; afterPart(i) comes once per range, in order,
 * when range i already holds its final values; bad ranges throw before anything changes.
 */
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { InternalError, ShapeError } from '../../../shared/src/errors.js';
import type { Backend } from '../../../shared/src/kernels/backend.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { buildNetwork } from '../../../shared/src/model/build.js';
import { ParameterStore } from '../../../shared/src/model/parameters.js';
import type { Optimizer } from '../../../shared/src/optimizers/optimizer.js';
import { optimizerFromSpec } from '../../../shared/src/optimizers/registry.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { cachedUpdatePlan } from '../../../shared/src/train/update-parts.js';
import { applyUpdate, beginUpdate, planUpdateParts, type UpdateOptions, type UpdateRange, type UpdateResult } from '../../../shared/src/train/update.js';
import { describeEachBackend } from '../kernels/backends.js';

// Conv and dense kernels with L1+L2 penalties, two BatchNorms (running mean and variance in the values),
// parameters whose sizes are not multiples of any SIMD width.
const config = parseRunConfig({
  name: 'update-parts',
  seed: 7,
  dataset: 'mnist',
  model: {
    kind: 'sequential',
    inputShape: [5, 5, 2],
    layers: [
      { type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu', kernelRegularizer: { l1: 0.001, l2: 0.01 } },
      { type: 'batchNorm' },
      { type: 'flatten' },
      { type: 'dense', units: 7, kernelRegularizer: { l1: 0.002, l2: 0 } },
      { type: 'batchNorm' },
      { type: 'dense', units: 3, kernelRegularizer: { l1: 0, l2: 0.05 } },
    ],
  },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam' },
  training: { epochs: 1, batchSize: 4 },
  backend: 'reference',
});

const OPTIMIZERS: readonly { readonly label: string; readonly spec: { type: string; [option: string]: unknown } }[] = [
  { label: 'sgd', spec: { type: 'sgd', learningRate: 0.05, weightDecay: 0.01 } },
  { label: 'sgd momentum', spec: { type: 'sgd', learningRate: 0.05, momentum: 0.9 } },
  { label: 'sgd nesterov', spec: { type: 'sgd', learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.001 } },
  { label: 'adam', spec: { type: 'adam', learningRate: 0.01, weightDecay: 0.01 } },
  { label: 'adamw', spec: { type: 'adamw', learningRate: 0.01 } },
  { label: 'adagrad', spec: { type: 'adagrad', learningRate: 0.05 } },
  { label: 'rmsprop', spec: { type: 'rmsprop', learningRate: 0.01 } },
  { label: 'rmsprop centered momentum', spec: { type: 'rmsprop', learningRate: 0.01, centered: true, momentum: 0.5 } },
];

const CLIPPING: readonly { readonly label: string; readonly options: UpdateOptions }[] = [
  { label: 'no clipping', options: { clipNorm: undefined, clipValue: undefined } },
  // The gradients' norm is well above 1 and many elements above 0.3: both clips change values.
  { label: 'clipNorm + clipValue', options: { clipNorm: 1, clipValue: 0.03 } },
];

const TOTAL_COUNT = 4;
const STEPS = 3;
const LR = 0.7; // scales the spec's rate, as a schedule would

interface Replica {
  readonly store: ParameterStore;
  readonly optimizer: Optimizer;
}

function replica(backend: Backend, spec: object): Replica {
  const network = buildNetwork(config.model, config.loss, { path: '' });
  const store = new ParameterStore(network, backend);
  store.initialize(Random.derive(11, 1));
  const optimizer = optimizerFromSpec(spec as never, { path: 'optimizer' }, backend, store.trainable.map((s) => s.value.size));
  return { store, optimizer };
}

/** Step `step`'s slot sums, the same for every replica: gradients for trained parameters, observed statistics for running ones. */
function fillSlots(r: Replica, step: number): void {
  const rng = Random.derive(23, step);
  const slots = r.store.slots.data;
  for (let i = 0; i < slots.length; i++) slots[i] = rng.uniform(-3, 3);
}

/** One range per layer that has parameters, in layer order: the cuts the worker's layer-by-layer wait uses. */
function layerRanges(store: ParameterStore): UpdateRange[] {
  const ranges: UpdateRange[] = [];
  for (const e of store.entries) {
    const last = ranges[ranges.length - 1];
    const layerOfLast = last === undefined ? undefined : store.entries.find((x) => x.offset === last.start)?.layer;
    if (last !== undefined && layerOfLast === e.layer) ranges[ranges.length - 1] = { start: last.start, end: e.offset + e.value.size };
    else ranges.push({ start: e.offset, end: e.offset + e.value.size });
  }
  return ranges;
}

/** Ranges cut at a random subset of the parameter boundaries, shuffled, with an empty range somewhere. */
function randomRanges(store: ParameterStore, rng: Random): UpdateRange[] {
  const cuts = store.entries.map((e) => e.offset).filter((o) => o > 0 && rng.next() < 0.5);
  const bounds = [0, ...cuts, store.values.size];
  const ranges: UpdateRange[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) ranges.push({ start: bounds[i]!, end: bounds[i + 1]! });
  const at = bounds[1 + rng.int(bounds.length - 1)]!;
  ranges.push({ start: at, end: at });
  for (let i = ranges.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ranges[i], ranges[j]] = [ranges[j]!, ranges[i]!];
  }
  return ranges;
}

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

/** Everything a step may write: values (with running statistics), slots, optimizer state and counter, as bytes. */
function snapshot(r: Replica): { values: Uint8Array; slots: Uint8Array; state: Uint8Array[]; stepCount: number } {
  return {
    values: bytes(r.store.values.data),
    slots: bytes(r.store.slots.data),
    state: r.optimizer.stateTensors().map((s) => bytes(s.tensor.data)),
    stepCount: r.optimizer.stepCount,
  };
}

function sameResult(a: UpdateResult, b: UpdateResult): void {
  expect(Object.is(a.penalty, b.penalty), `penalty ${a.penalty} vs ${b.penalty}`).toBe(true);
  expect(Object.is(a.gradNorm, b.gradNorm), `gradNorm ${a.gradNorm} vs ${b.gradNorm}`).toBe(true);
}

describeEachBackend('applyUpdate in parts equals the whole update bit for bit', (backend) => {
  for (const { label, spec } of OPTIMIZERS) {
    for (const clip of CLIPPING) {
      it(`${label}, ${clip.label}: reversed layer ranges and random cuts at parameter boundaries`, () => {
        const whole = replica(backend(), spec);
        const reversed = replica(backend(), spec);
        const cut = replica(backend(), spec);
        const reverseRanges = layerRanges(reversed.store).reverse();
        const rng = Random.derive(31, label.length);
        for (let step = 0; step < STEPS; step++) {
          for (const r of [whole, reversed, cut]) fillSlots(r, step);
          const expected = applyUpdate(whole.store, whole.optimizer, LR, TOTAL_COUNT, clip.options, backend().kernels);
          const calls: number[] = [];
          const got = applyUpdate(reversed.store, reversed.optimizer, LR, TOTAL_COUNT, clip.options, backend().kernels, {
            ranges: reverseRanges,
            afterPart: (i) => calls.push(i),
          });
          expect(calls).toEqual(reverseRanges.map((_, i) => i));
          sameResult(got, expected);
          const random = randomRanges(cut.store, rng);
          sameResult(applyUpdate(cut.store, cut.optimizer, LR, TOTAL_COUNT, clip.options, backend().kernels, { ranges: random, afterPart: () => {} }), expected);
          const want = snapshot(whole);
          expect(snapshot(reversed), `step ${step}, reversed`).toEqual(want);
          expect(snapshot(cut), `step ${step}, cut ${JSON.stringify(random)}`).toEqual(want);
        }
        expect(whole.optimizer.stepCount).toBe(STEPS);
        if (clip.options.clipNorm !== undefined) {
          // The clip really scaled (so the property covers the clipped path): the norm exceeded clipNorm.
          const r = replica(backend(), spec);
          fillSlots(r, 0);
          expect(applyUpdate(r.store, r.optimizer, LR, TOTAL_COUNT, clip.options, backend().kernels).gradNorm).toBeGreaterThan(clip.options.clipNorm);
        }
      });
    }
  }
});

describeEachBackend('beginUpdate (Note [update as the buckets arrive]): each part applied once its gradients are final equals the whole update bit for bit', (backend) => {
  const options: readonly { readonly label: string; readonly options: UpdateOptions }[] = [
    { label: 'no clipping', options: { clipNorm: undefined, clipValue: undefined } },
    { label: 'clipValue', options: { clipNorm: undefined, clipValue: 0.03 } },
  ];
  for (const { label, spec } of OPTIMIZERS) {
    for (const clip of options) {
      it(`${label}, ${clip.label}: parts in a random order, each one's slots garbage until just before it is applied`, () => {
        const whole = replica(backend(), spec);
        const parts = replica(backend(), spec);
        const rng = Random.derive(37, label.length);
        for (let step = 0; step < STEPS; step++) {
          fillSlots(whole, step);
          const expected = applyUpdate(whole.store, whole.optimizer, LR, TOTAL_COUNT, clip.options, backend().kernels);
          // The gradients are not there yet when the update begins: only the values (for the penalty) are.
          parts.store.slots.data.fill(Number.NaN);
          const ranges = rng.next() < 0.5 ? layerRanges(parts.store).reverse() : randomRanges(parts.store, rng);
          const update = beginUpdate(parts.store, parts.optimizer, LR, TOTAL_COUNT, clip.options, backend().kernels, ranges);
          expect(Object.is(update.penalty, expected.penalty), `penalty ${update.penalty} vs ${expected.penalty}`).toBe(true);
          const order = ranges.map((_, i) => i).sort(() => rng.next() - 0.5);
          const final = whole.store.slots.data.slice();
          fillSlots(whole, step); // whole's slots were scaled in place; `final` is what arrives
          const arriving = whole.store.slots.data;
          for (const i of order) {
            const { start, end } = ranges[i]!;
            parts.store.slots.data.set(arriving.subarray(start, end), start);
            update.apply(i);
          }
          whole.store.slots.data.set(final);
          expect(snapshot(parts), `step ${step}, ranges ${JSON.stringify(ranges)}, order ${order.join(',')}`).toEqual(snapshot(whole));
        }
        expect(parts.optimizer.stepCount).toBe(STEPS);
      });
    }
  }

  it('refuses clipping by global norm (it needs every gradient first) and a part applied twice, with an InternalError', () => {
    const r = replica(backend(), { type: 'adam', learningRate: 0.01 });
    fillSlots(r, 0);
    const ranges = layerRanges(r.store);
    expect(() => beginUpdate(r.store, r.optimizer, LR, TOTAL_COUNT, { clipNorm: 1, clipValue: undefined }, backend().kernels, ranges)).toThrow(InternalError);
    const update = beginUpdate(r.store, r.optimizer, LR, TOTAL_COUNT, { clipNorm: undefined, clipValue: undefined }, backend().kernels, ranges);
    update.apply(0);
    expect(() => update.apply(0)).toThrow(InternalError);
  });
});

describe('afterPart', () => {
  const backend = createReferenceBackend();
  const spec = { type: 'adam', learningRate: 0.01 };

  it('is called once per range, in the order of the ranges, when every value of that range is already final', () => {
    const whole = replica(backend, spec);
    const parts = replica(backend, spec);
    const ranges = randomRanges(parts.store, Random.derive(5, 0));
    for (let step = 0; step < STEPS; step++) {
      fillSlots(whole, step);
      fillSlots(parts, step);
      applyUpdate(whole.store, whole.optimizer, LR, TOTAL_COUNT, { clipNorm: 1, clipValue: undefined }, backend.kernels);
      const final = whole.store.values.data;
      const values = parts.store.values.data;
      // Negative control: before the step, every non-empty range still differs from its final values.
      for (const r of ranges.filter((x) => x.end > x.start)) expect(bytes(values.subarray(r.start, r.end))).not.toEqual(bytes(final.subarray(r.start, r.end)));
      const calls: number[] = [];
      applyUpdate(parts.store, parts.optimizer, LR, TOTAL_COUNT, { clipNorm: 1, clipValue: undefined }, backend.kernels, {
        ranges,
        afterPart: (i) => {
          calls.push(i);
          const r = ranges[i]!;
          expect(bytes(values.subarray(r.start, r.end)), `step ${step}, part ${i} [${r.start}, ${r.end})`).toEqual(bytes(final.subarray(r.start, r.end)));
          // The step counter moved once, before the first part, and stays for the others.
          expect(parts.optimizer.stepCount).toBe(step + 1);
        },
      });
      expect(calls).toEqual(ranges.map((_, i) => i));
    }
  });

  it('is called for a model split into one range, and for empty ranges anywhere', () => {
    const r = replica(backend, spec);
    fillSlots(r, 0);
    const n = r.store.values.size;
    const calls: number[] = [];
    applyUpdate(r.store, r.optimizer, LR, TOTAL_COUNT, { clipNorm: undefined, clipValue: undefined }, backend.kernels, {
      ranges: [{ start: 0, end: 0 }, { start: 0, end: n }, { start: n, end: n }],
      afterPart: (i) => calls.push(i),
    });
    expect(calls).toEqual([0, 1, 2]);
  });
});

describe('bad ranges', () => {
  const backend = createReferenceBackend();
  const spec = { type: 'adam', learningRate: 0.01 };
  const r = replica(backend, spec);
  const n = r.store.values.size;
  // A cut inside the first conv kernel, and the boundary after it.
  const kernel = r.store.entries[0]!;
  const afterKernel = kernel.offset + kernel.value.size;
  const runningVariance = r.store.running[1]!;
  const cases: readonly { readonly label: string; readonly ranges: UpdateRange[]; readonly message: RegExp }[] = [
    { label: 'a gap', ranges: [{ start: 0, end: afterKernel }, { start: afterKernel + 1, end: n }], message: /leaves \[\d+, \d+\) in no range/ },
    { label: 'an overlap', ranges: [{ start: 0, end: afterKernel + 3 }, { start: afterKernel, end: n }], message: /overlaps another range/ },
    { label: 'a missing tail', ranges: [{ start: 0, end: afterKernel }], message: /the ranges leave \[\d+, \d+\) in no range/ },
    { label: 'a range past the end', ranges: [{ start: 0, end: n + 1 }], message: /is not a range of the \d+ parameter values/ },
    { label: 'a reversed range', ranges: [{ start: 0, end: n }, { start: 5, end: 4 }], message: /is not a range/ },
    { label: 'a fractional bound', ranges: [{ start: 0, end: 2.5 }, { start: 2.5, end: n }], message: /is not a range/ },
    { label: 'a cut inside a trained kernel', ranges: [{ start: 0, end: 5 }, { start: 5, end: n }], message: /range 0 \[0, 5\) splits trainable segment 0 .* of conv2d\w*\/kernel/ },
    {
      label: 'a cut inside a running statistic',
      ranges: [{ start: runningVariance.offset + 1, end: n }, { start: 0, end: runningVariance.offset + 1 }],
      message: /splits running entry 1 .*\/movingVariance/,
    },
  ];
  for (const c of cases) {
    it(`${c.label}: ShapeError naming the range, and no value, slot, optimizer state or step count changes`, () => {
      fillSlots(r, 0);
      const before = snapshot(r);
      const calls: number[] = [];
      const attempt = (): UpdateResult =>
        applyUpdate(r.store, r.optimizer, LR, TOTAL_COUNT, { clipNorm: 1, clipValue: 0.1 }, backend.kernels, { ranges: c.ranges, afterPart: (i) => calls.push(i) });
      expect(attempt).toThrow(ShapeError);
      expect(attempt).toThrow(c.message);
      expect(calls).toEqual([]);
      expect(snapshot(r)).toEqual(before);
    });
  }

  it('a negative control: the same store and options with good ranges do change the state', () => {
    fillSlots(r, 0);
    const before = snapshot(r);
    applyUpdate(r.store, r.optimizer, LR, TOTAL_COUNT, { clipNorm: 1, clipValue: 0.1 }, backend.kernels, { ranges: [{ start: 0, end: n }], afterPart: () => {} });
    expect(snapshot(r).values).not.toEqual(before.values);
    expect(r.optimizer.stepCount).toBe(before.stepCount + 1);
  });
});

describe('planUpdateParts', () => {
  const r = replica(createReferenceBackend(), { type: 'sgd' });

  it('puts every trainable segment and running entry in the range holding its first element, ascending', () => {
    const ranges = layerRanges(r.store);
    const plan = planUpdateParts(r.store, ranges);
    // Layers: conv (kernel, bias), batchNorm (gamma, beta | movingMean, movingVariance), dense, batchNorm, dense.
    expect(plan.trainable).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    expect(plan.running).toEqual([[], [0, 1], [], [2, 3], []]);
    const reversed = planUpdateParts(r.store, [...ranges].reverse());
    expect(reversed.trainable).toEqual([[8, 9], [6, 7], [4, 5], [2, 3], [0, 1]]);
  });

  it('is computed once for a ranges array, and again when its bounds were edited in place', () => {
    const ranges = layerRanges(r.store);
    const first = cachedUpdatePlan(r.store, ranges);
    expect(cachedUpdatePlan(r.store, ranges)).toBe(first);
    // An edited array is re-planned: merging the first two layers moves segments 2 and 3 into part 0.
    ranges[0] = { start: 0, end: ranges[1]!.end };
    ranges[1] = { start: ranges[1]!.end, end: ranges[1]!.end };
    const edited = cachedUpdatePlan(r.store, ranges);
    expect(edited).not.toBe(first);
    expect(edited.trainable[0]).toEqual([0, 1, 2, 3]);
    expect(edited.trainable[1]).toEqual([]);
  });

  it('refuses a parameter that is not a view of store.values (its offset would mean nothing)', () => {
    const copy = r.store.trainable[0]!.value.data.slice();
    const foreign = Object.assign(Object.create(ParameterStore.prototype) as ParameterStore, {
      values: r.store.values,
      entries: r.store.entries,
      running: [],
      trainable: [{ value: new Tensor([copy.length], copy), grad: r.store.trainable[0]!.grad }],
    });
    expect(() => planUpdateParts(foreign, [{ start: 0, end: r.store.values.size }])).toThrow(InternalError);
    expect(() => planUpdateParts(foreign, [{ start: 0, end: r.store.values.size }])).toThrow(/trainable segment 0 is not a view of the flat parameter buffer/);
    // Negative control: the store's own views plan.
    expect(planUpdateParts(r.store, [{ start: 0, end: r.store.values.size }]).trainable[0]).toHaveLength(r.store.trainable.length);
  });
});
