import { describe, expect, it } from 'vitest';
import { Sgd } from '../../../shared/src/optimizers/sgd.js';
import { countingBackend } from './counting-backend.js';
import { segments, setGrads } from './segments.js';

describe('SGD', () => {
  it('without momentum steps θ − lr·g and allocates no state', () => {
    const backend = countingBackend();
    const opt = new Sgd(backend, [2]);
    const segs = segments({ theta: [1, -1], grad: [0.5, 2] });
    opt.step(segs, 0.1);
    expect(Array.from(segs[0]!.value.data)).toEqual([Math.fround(0.95), Math.fround(-1.2)]);
    expect(backend.persistent).toBe(0);
    expect(opt.stateTensors()).toEqual([]);
  });

  it('momentum accumulates the velocity (PyTorch: v ← μv + g, θ ← θ − lr·v)', () => {
    // θ0 = 1, g = 1 then 0.5, μ 0.9, lr 0.1: v1 = 1 → θ1 = 0.9; v2 = 0.9 + 0.5 = 1.4 → θ2 = 0.76.
    const backend = countingBackend();
    const opt = new Sgd(backend, [1], { momentum: 0.9 });
    const segs = segments({ theta: [1], grad: [1] });
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.9, 6);
    setGrads(segs, [0.5]);
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.76, 6);
    expect(opt.stateTensors()[0]!.name).toBe('sgd.velocity.0');
    expect(opt.stateTensors()[0]!.tensor.data[0]).toBeCloseTo(1.4, 6);
    expect(backend.persistent).toBe(1);
  });

  it('nesterov steps along g + μv', () => {
    // step 1: v = 1, d = 1 + 0.9 = 1.9 → θ = 0.81; step 2: v = 1.4, d = 0.5 + 1.26 = 1.76 → θ = 0.634.
    const opt = new Sgd(countingBackend(), [1], { momentum: 0.9, nesterov: true });
    const segs = segments({ theta: [1], grad: [1] });
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.81, 6);
    setGrads(segs, [0.5]);
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.634, 6);
  });

  it('weight decay adds wd·θ to the gradient', () => {
    // θ0 = 2, g = 0.5, wd 0.1: g' = 0.7 → θ = 2 − 0.1·0.7 = 1.93.
    const opt = new Sgd(countingBackend(), [1], { weightDecay: 0.1 });
    const segs = segments({ theta: [2], grad: [0.5] });
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(1.93, 6);
  });

  it('keeps one velocity per segment', () => {
    const opt = new Sgd(countingBackend(), [1, 2], { momentum: 0.5 });
    const segs = segments({ theta: [0], grad: [1] }, { theta: [0, 0], grad: [2, -2] });
    opt.step(segs, 1);
    opt.step(segs, 1);
    // v1 = g, v2 = 0.5g + g = 1.5g; θ = −(g + 1.5g) = −2.5g.
    expect(Array.from(segs[0]!.value.data)).toEqual([-2.5]);
    expect(Array.from(segs[1]!.value.data)).toEqual([-5, 5]);
  });
});
