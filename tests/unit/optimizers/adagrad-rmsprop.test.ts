import { describe, expect, it } from 'vitest';
import { Adagrad } from '../../../shared/src/optimizers/adagrad.js';
import { Rmsprop } from '../../../shared/src/optimizers/rmsprop.js';
import { countingBackend } from './counting-backend.js';
import { segments, setGrads } from './segments.js';

describe('AdaGrad', () => {
  it('two steps match a hand computation (Keras: accumulator starts at 0.1, θ −= lr·g/√(a+ε))', () => {
    // θ0 = 1, g = 0.5 twice, lr 0.1: a = 0.35 → θ = 1 − 0.05/√0.3500001 = 0.91548459;
    // a = 0.6 → θ = 0.91548459 − 0.05/√0.6000001 = 0.85093487.
    const backend = countingBackend();
    const opt = new Adagrad(backend, [1]);
    expect(opt.stateTensors()[0]!.tensor.data[0]).toBeCloseTo(0.1, 7);
    const segs = segments({ theta: [1], grad: [0.5] });
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.9154845866, 6);
    opt.step(segs, 0.1);
    expect(segs[0]!.value.data[0]).toBeCloseTo(0.8509348695, 6);
    expect(opt.stateTensors()[0]!.tensor.data[0]).toBeCloseTo(0.6, 6);
    expect(backend.persistent).toBe(1);
  });

  it('honours initialAccumulatorValue', () => {
    const opt = new Adagrad(countingBackend(), [1], { initialAccumulatorValue: 0.75 });
    const segs = segments({ theta: [0], grad: [0.5] });
    opt.step(segs, 1);
    // a = 1 → θ = −0.5/√(1 + 1e-7).
    expect(segs[0]!.value.data[0]).toBeCloseTo(-0.5, 6);
  });
});

describe('RMSprop', () => {
  const run = (opt: Rmsprop): number[] => {
    const segs = segments({ theta: [1], grad: [0.5] });
    const out: number[] = [];
    opt.step(segs, 0.01);
    out.push(segs[0]!.value.data[0]!);
    setGrads(segs, [-0.5]);
    opt.step(segs, 0.01);
    out.push(segs[0]!.value.data[0]!);
    return out;
  };

  it('plain: s ← 0.9s + 0.1g², θ −= lr·g/√(s+ε) (hand computation)', () => {
    // s1 = 0.025 → θ1 = 1 − 0.005/√0.0250001 = 0.96837729; s2 = 0.0475 → θ2 = θ1 + 0.005/√0.0475001 = 0.99131884.
    const backend = countingBackend();
    const [t1, t2] = run(new Rmsprop(backend, [1]));
    expect(t1).toBeCloseTo(0.9683772866, 6);
    expect(t2).toBeCloseTo(0.9913188359, 6);
    expect(backend.persistent).toBe(1);
  });

  it('centered divides by s − ḡ² (hand computation)', () => {
    // ḡ1 = 0.05 → denominator 0.0225 → θ1 = 1 − 0.005/0.15 = 0.96666674; ḡ2 = −0.005 → 0.047475 → θ2 = 0.98961433.
    const backend = countingBackend();
    const opt = new Rmsprop(backend, [1], { centered: true });
    const [t1, t2] = run(opt);
    expect(t1).toBeCloseTo(0.9666667407, 6);
    expect(t2).toBeCloseTo(0.9896143296, 6);
    expect(opt.stateTensors().map((s) => s.name)).toEqual(['rmsprop.meanSquare.0', 'rmsprop.meanGrad.0']);
  });

  it('momentum accumulates the scaled increments (Keras: b ← μb + Δ, θ −= b)', () => {
    // b1 = Δ1 = 0.03162271 → θ1 = 0.96837729; Δ2 = −0.02294175, b2 = 0.01581136 − 0.02294175 → θ2 = 0.97550748.
    const opt = new Rmsprop(countingBackend(), [1], { momentum: 0.5 });
    const [t1, t2] = run(opt);
    expect(t1).toBeCloseTo(0.9683772866, 6);
    expect(t2).toBeCloseTo(0.9755074792, 6);
    expect(opt.stateTensors().map((s) => s.name)).toEqual(['rmsprop.meanSquare.0', 'rmsprop.momentum.0']);
  });
});
