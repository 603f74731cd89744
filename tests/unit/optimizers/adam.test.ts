import { describe, expect, it } from 'vitest';
import { CheckpointError, ShapeError } from '../../../shared/src/errors.js';
import { Adam } from '../../../shared/src/optimizers/adam.js';
import { AdamW } from '../../../shared/src/optimizers/adamw.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { countingBackend } from './counting-backend.js';
import { segments, setGrads } from './segments.js';

describe('Adam', () => {
  it('two steps match a hand computation with bias correction', () => {
    // lr 0.1, β1 0.9, β2 0.999, ε 1e-8, θ0 = 1, g = 0.5 then −0.25.
    // t=1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25 → θ = 1 − 0.1·0.5/(0.5+ε) = 0.900000002
    // t=2: m = 0.045 − 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225,
    //      m̂ = 0.02/0.19, v̂ = 0.00031225/0.001999 → θ = 0.9 − 0.1·0.105263/0.395225 = 0.873366299
    const opt = new Adam(countingBackend(), [1]);
    const segs = segments({ theta: [1], grad: [0.5] });
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.900000002, 6);
    setGrads(segs, [-0.25]);
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.8733662987, 6);
    expect(opt.stepCount).toBe(2);
  });

  it('coupled weight decay equals adding wd·θ to the gradient', () => {
    const withDecay = new Adam(countingBackend(), [3], { weightDecay: 0.1 });
    const plain = new Adam(countingBackend(), [3]);
    const a = segments({ theta: [1, -2, 0.5], grad: [0.3, 0.1, -0.2] });
    const b = segments({ theta: [1, -2, 0.5], grad: [0, 0, 0] });
    for (let step = 0; step < 3; step++) {
      const g = [0.3 - step * 0.1, 0.1, -0.2 + step * 0.05];
      setGrads(a, g);
      setGrads(b, g.map((gi, i) => gi + 0.1 * b[0]!.value.data[i]!));
      withDecay.step(a, 0.05);
      plain.step(b, 0.05);
    }
    for (let i = 0; i < 3; i++) expect(a[0]!.value.data[i]).toBeCloseTo(b[0]!.value.data[i]!, 6);
  });

  it('allocates m and v once per segment through allocPersistent and never while stepping', () => {
    const backend = countingBackend();
    const opt = new Adam(backend, [4, 2]);
    expect(backend.persistent).toBe(4);
    const segs = segments({ theta: [1, 2, 3, 4], grad: [1, 1, 1, 1] }, { theta: [1, 2], grad: [1, 1] });
    for (let i = 0; i < 5; i++) opt.step(segs, 0.01);
    expect(backend.persistent).toBe(4);
    expect(backend.scratch).toBe(0);
    expect(opt.stateTensors().map((s) => s.name)).toEqual(['adam.m.0', 'adam.m.1', 'adam.v.0', 'adam.v.1']);
    expect(opt.stateTensors().map((s) => s.tensor.size)).toEqual([4, 2, 4, 2]);
  });

  it('a restored copy (state tensors + step count) continues bit for bit like the original', () => {
    const original = new Adam(countingBackend(), [3]);
    const segs = segments({ theta: [0.1, 0.2, 0.3], grad: [0.5, -0.5, 0.25] });
    original.step(segs, 0.01);
    original.step(segs, 0.01);
    const restored = new Adam(countingBackend(), [3]);
    original.stateTensors().forEach((s, i) => restored.stateTensors()[i]!.tensor.data.set(s.tensor.data));
    restored.setStepCount(original.stepCount);
    const copy = segments({ theta: Array.from(segs[0]!.value.data), grad: Array.from(segs[0]!.grad.data) });
    original.step(segs, 0.01);
    restored.step(copy, 0.01);
    expect(Array.from(copy[0]!.value.data)).toEqual(Array.from(segs[0]!.value.data));
    // Negative control: a copy restored WITHOUT the step count uses the wrong bias correction.
    const forgetful = new Adam(countingBackend(), [3]);
    original.stateTensors().forEach((s, i) => forgetful.stateTensors()[i]!.tensor.data.set(s.tensor.data));
    const other = segments({ theta: Array.from(copy[0]!.value.data), grad: Array.from(copy[0]!.grad.data) });
    forgetful.step(other, 0.01);
    restored.step(copy, 0.01);
    expect(Array.from(other[0]!.value.data)).not.toEqual(Array.from(copy[0]!.value.data));
  });

  it('updates multi-dimensional segments in place through their flat storage', () => {
    const opt = new Adam(countingBackend(), [4]);
    const value = Tensor.from([2, 2], [1, 1, 1, 1]);
    const grad = Tensor.from([2, 2], [1, -1, 0, 2]);
    opt.step([{ value, grad }], 0.1);
    // The first Adam step moves each element by lr·sign(g) (0 where g = 0).
    expect(Array.from(value.data).map((x) => Number(x.toFixed(6)))).toEqual([0.9, 1.1, 1, 0.9]);
  });

  it('rejects segments that do not match the sizes it was built for', () => {
    const opt = new Adam(countingBackend(), [2]);
    expect(() => opt.step(segments({ theta: [1, 2, 3], grad: [1, 2, 3] }), 0.1)).toThrow(ShapeError);
    expect(() => opt.step([], 0.1)).toThrow(/built for 1/);
    expect(opt.stepCount).toBe(0);
  });

  it('refuses a negative or fractional restored step count', () => {
    const opt = new Adam(countingBackend(), [1]);
    expect(() => opt.setStepCount(-1)).toThrow(CheckpointError);
    expect(() => opt.setStepCount(1.5)).toThrow(CheckpointError);
  });
});

describe('AdamW', () => {
  it('decays θ by lr·wd·θ before the Adam step (hand computation)', () => {
    // θ0 = 1, g = 0.5, lr 0.1, wd 0.1: θ ← 1·(1 − 0.01) = 0.99, then the first Adam step − 0.1 → 0.89.
    const opt = new AdamW(countingBackend(), [1], { weightDecay: 0.1 });
    const segs = segments({ theta: [1], grad: [0.5] });
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.89, 6);
    expect(opt.name).toBe('adamw');
  });

  it('differs from coupled Adam with the same weight decay (the decay skips the moments)', () => {
    const w = new AdamW(countingBackend(), [1], { weightDecay: 0.1 });
    const a = new Adam(countingBackend(), [1], { weightDecay: 0.1 });
    const sw = segments({ theta: [1], grad: [0.5] });
    const sa = segments({ theta: [1], grad: [0.5] });
    w.step(sw, 0.1);
    a.step(sa, 0.1);
    // Coupled: g' = 0.6, the first step is still lr·sign → 0.9.
    expect(sa[0]!.value.data[0]).toBeCloseTo(0.9, 6);
    expect(sw[0]!.value.data[0]).not.toBeCloseTo(0.9, 4);
  });

  it('defaults to PyTorch weight decay 0.01', () => {
    const opt = new AdamW(countingBackend(), [1]);
    const segs = segments({ theta: [2], grad: [0] });
    opt.step(segs, 0.5);
    // g = 0 → no Adam move; θ ← 2·(1 − 0.5·0.01) = 1.99.
    expect(segs[0]!.value.data[0]).toBeCloseTo(1.99, 6);
  });
});
