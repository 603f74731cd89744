import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { applyRegularization } from '../../../shared/src/regularizers/apply.js';
import { regularizerFromSpec } from '../../../shared/src/regularizers/from-spec.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

describe('applyRegularization', () => {
  it('adds l1·sign(θ) + 2·l2·θ to the gradient and returns l1·Σ|θ| + l2·Σθ²', () => {
    const value = Tensor.from([3], [2, -1, 0]);
    const grad = Tensor.from([3], [0.5, 0.5, 0.5]);
    const penalty = applyRegularization([{ value, grad, regularizer: { l1: 0.1, l2: 0.01 } }]);
    // Σ|θ| = 3, Σθ² = 5 → 0.3 + 0.05.
    expect(penalty).toBeCloseTo(0.35, 12);
    // θ = 2: 0.5 + 0.1 + 0.04; θ = −1: 0.5 − 0.1 − 0.02; θ = 0: unchanged (sign 0).
    expect(grad.data[0]).toBeCloseTo(0.64, 6);
    expect(grad.data[1]).toBeCloseTo(0.38, 6);
    expect(grad.data[2]).toBe(0.5);
    expect(Array.from(value.data)).toEqual([2, -1, 0]);
  });

  it('skips segments without a regularizer and sums penalties over the others', () => {
    const plain = { value: Tensor.from([1], [10]), grad: Tensor.from([1], [1]) };
    const l2 = { value: Tensor.from([2], [1, 2]), grad: Tensor.from([2], [0, 0]), regularizer: { l1: 0, l2: 0.5 } };
    const l1 = { value: Tensor.from([1], [-4]), grad: Tensor.from([1], [0]), regularizer: { l1: 0.25, l2: 0 } };
    expect(applyRegularization([plain, l2, l1])).toBeCloseTo(0.5 * 5 + 0.25 * 4, 12);
    expect(Array.from(plain.grad.data)).toEqual([1]);
    expect(Array.from(l2.grad.data)).toEqual([1, 2]);
    expect(Array.from(l1.grad.data)).toEqual([-0.25]);
  });

  it('the gradient it adds is the derivative of the penalty it reports (finite differences, with a negative control)', () => {
    const theta = [0.7, -1.3, 2.1];
    const reg = { l1: 0.03, l2: 0.2 };
    const penaltyAt = (t: number[]): number => applyRegularization([{ value: Tensor.from([3], t), grad: Tensor.zeros([3]), regularizer: reg }]);
    const grad = Tensor.zeros([3]);
    applyRegularization([{ value: Tensor.from([3], theta), grad, regularizer: reg }]);
    const h = 1e-3;
    for (let i = 0; i < 3; i++) {
      const plus = theta.map((t, j) => (j === i ? t + h : t));
      const minus = theta.map((t, j) => (j === i ? t - h : t));
      const numeric = (penaltyAt(plus) - penaltyAt(minus)) / (2 * h);
      expect(grad.data[i]).toBeCloseTo(numeric, 3);
      // Negative control: the l2 gradient without its factor 2 would be caught.
      expect(Math.abs(reg.l1 * Math.sign(theta[i]!) + reg.l2 * theta[i]! - numeric)).toBeGreaterThan(1e-2);
    }
  });
});

describe('regularizerFromSpec', () => {
  const scope = { path: 'model.layers[0].kernelRegularizer' };
  it('fills a missing coefficient with 0', () => {
    expect(regularizerFromSpec({ l2: 1e-4 }, scope)).toEqual({ l1: 0, l2: 1e-4 });
    expect(regularizerFromSpec({ l1: 0, l2: 0.5 }, scope)).toEqual({ l1: 0, l2: 0.5 });
  });

  it('rejects negative coefficients, unknown keys and empty objects, naming the field', () => {
    expect(() => regularizerFromSpec({ l2: -1 }, scope)).toThrow(/model\.layers\[0\]\.kernelRegularizer\.l2: must be ≥ 0 \(got -1\)/);
    expect(() => regularizerFromSpec({ l3: 1 }, scope)).toThrow(/kernelRegularizer\.l3: is not a known option/);
    expect(() => regularizerFromSpec({}, scope)).toThrow(/kernelRegularizer: needs "l1", "l2" or both/);
    expect(() => regularizerFromSpec(0.01, scope)).toThrow(ConfigError);
  });
});
