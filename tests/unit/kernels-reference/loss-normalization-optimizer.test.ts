import { describe, expect, it } from 'vitest';
import { referenceKernels as k } from '../../../shared/src/kernels/reference/index.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

const values = (x: Tensor): number[] => Array.from(x.data);

describe('reference softmaxCrossEntropy', () => {
  it('is finite and exact for logits ±1e4: loss 2e4 for the wrong class, 0 for the right one', () => {
    const d = Tensor.zeros([2, 2]);
    const loss = k.softmaxCrossEntropy(Tensor.from([2, 2], [1e4, -1e4, 1e4, -1e4]), Tensor.from([2, 2], [0, 1, 1, 0]), d, 1);
    expect(loss).toBeCloseTo(2e4, 3);
    expect(values(d)).toEqual([1, -1, 0, 0]);
  });

  it('returns Σ −t·log softmax and writes gradScale·(softmax − t)', () => {
    const d = Tensor.zeros([1, 2]);
    const loss = k.softmaxCrossEntropy(Tensor.from([1, 2], [0, Math.log(3)]), Tensor.from([1, 2], [1, 0]), d, 0.5);
    // softmax = [1/4, 3/4]: loss = log 4; gradient 0.5·[−3/4, 3/4]
    expect(loss).toBeCloseTo(Math.log(4), 6);
    expect(d.data[0]).toBeCloseTo(-0.375, 6);
    expect(d.data[1]).toBeCloseTo(0.375, 6);
  });
});

describe('reference batch normalisation', () => {
  it('inference with given statistics computes γ·(x − μ)/√(σ² + ε) + β per channel', () => {
    const out = Tensor.zeros([2, 2]);
    k.batchNormInfer(Tensor.from([2, 2], [3, 10, 5, 20]), Tensor.from([2], [2, 1]), Tensor.from([2], [1, -1]),
      Tensor.from([2], [1, 10]), Tensor.from([2], [4, 25]), 0, out);
    expect(values(out)).toEqual([3, -1, 5, 1]);
  });

  it('training computes the batch mean and biased variance per channel', () => {
    const out = Tensor.zeros([4, 1]);
    const mean = Tensor.zeros([1]);
    const variance = Tensor.zeros([1]);
    k.batchNormTrain(Tensor.from([4, 1], [1, 2, 3, 6]), Tensor.from([1], [1]), Tensor.from([1], [0]), 0, out, mean, variance);
    expect(values(mean)).toEqual([3]);
    expect(values(variance)).toEqual([3.5]);
    out.data.forEach((v, i) => expect(v).toBeCloseTo(([1, 2, 3, 6][i]! - 3) / Math.sqrt(3.5), 6));
  });
});

describe('reference optimizers', () => {
  it('one Adam step from zero state moves θ by lr·sign(g) (bias correction makes m̂/√v̂ = g/|g|)', () => {
    const p = Tensor.from([2], [1, -1]);
    const m = Tensor.zeros([2]);
    const v = Tensor.zeros([2]);
    k.adamUpdate(p, Tensor.from([2], [0.5, -2]), m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 0, step: 1, weightDecay: 0, decoupled: false });
    expect(p.data[0]).toBeCloseTo(0.9, 6);
    expect(p.data[1]).toBeCloseTo(-0.9, 6);
    expect(m.data[0]).toBeCloseTo(0.05, 7);
    expect(v.data[1]).toBeCloseTo(0.004, 7);
  });

  it('a second Adam step matches the hand computation with ε and coupled L2 weight decay', () => {
    const p = Tensor.from([1], [2]);
    const m = Tensor.from([1], [0.1]);
    const v = Tensor.from([1], [0.01]);
    const u = { lr: 0.01, beta1: 0.9, beta2: 0.99, epsilon: 1e-3, step: 2, weightDecay: 0.5, decoupled: false };
    k.adamUpdate(p, Tensor.from([1], [1]), m, v, u);
    const g = 1 + 0.5 * 2;
    const mi = 0.9 * 0.1 + 0.1 * g;
    const vi = 0.99 * 0.01 + 0.01 * g * g;
    const expected = 2 - (0.01 * (mi / (1 - 0.81))) / (Math.sqrt(vi / (1 - 0.9801)) + 1e-3);
    expect(p.data[0]).toBeCloseTo(expected, 6);
  });

  it('AdamW decays θ by lr·wd·θ before the Adam step (PyTorch order) and leaves the gradient moments untouched', () => {
    const p = Tensor.from([1], [2]);
    const m = Tensor.zeros([1]);
    const v = Tensor.zeros([1]);
    k.adamUpdate(p, Tensor.from([1], [1]), m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 0, step: 1, weightDecay: 0.5, decoupled: true });
    // θ = 2·(1 − 0.05) − 0.1·1 = 1.8
    expect(p.data[0]).toBeCloseTo(1.8, 6);
    expect(m.data[0]).toBeCloseTo(0.1, 7);
  });

  it('SGD with momentum, nesterov and weight decay matches PyTorch over two steps', () => {
    const p = Tensor.from([1], [1]);
    const b = Tensor.zeros([1]);
    const u = { lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0.1 };
    k.sgdUpdate(p, Tensor.from([1], [1]), b, u);
    // g = 1 + 0.1 = 1.1; b = 1.1; θ = 1 − 0.11 = 0.89
    expect(p.data[0]).toBeCloseTo(0.89, 6);
    k.sgdUpdate(p, Tensor.from([1], [1]), b, u);
    // g = 1.089; b = 0.99 + 1.089 = 2.079; θ = 0.89 − 0.2079 = 0.6821
    expect(p.data[0]).toBeCloseTo(0.6821, 6);
    const q = Tensor.from([1], [1]);
    const c = Tensor.zeros([1]);
    k.sgdUpdate(q, Tensor.from([1], [1]), c, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0 });
    // b = 1; update = 1 + 0.9·1 = 1.9
    expect(q.data[0]).toBeCloseTo(0.81, 6);
    const r = Tensor.from([1], [1]);
    k.sgdUpdate(r, Tensor.from([1], [2]), null, { lr: 0.5, momentum: 0, nesterov: false, weightDecay: 0 });
    expect(r.data[0]).toBe(0);
  });
});

describe('reference kernel table', () => {
  it('has every kernel as a plain function that works detached from the table (no `this`)', () => {
    const { sum } = k;
    expect(sum(Tensor.from([2], [1, 2]))).toBe(3);
    for (const [name, fn] of Object.entries(k)) expect(typeof fn, name).toBe('function');
  });
});
