import { describe, expect, it } from 'vitest';
import { checkLayerGradients } from '../../helpers/gradcheck.js';
import { Dropout } from '../../../shared/src/layers/dropout.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

describe('Dropout', () => {
  it('training gradient matches finite differences when the mask is re-drawn from the same rng seed', () => {
    const report = checkLayerGradients(new Dropout('dropout_0', [10], 0.4), { batch: 3, training: true, rngSeed: 11 });
    expect(report.passed, report.summary).toBe(true);
  });

  it('negative control: a gradient that ignores the mask (identity) fails the check', () => {
    const report = checkLayerGradients(new Dropout('dropout_0', [10], 0.4), {
      batch: 3,
      rngSeed: 11,
      tamper: (_l, g) => g.forEach((v, i) => { if (v === 0) g[i] = 0.3; }),
    });
    expect(report.passed).toBe(false);
  });

  it('drops about `rate` of the elements, scales the kept ones by 1/(1 − rate) and repeats with the same seed', () => {
    const layer = new Dropout('dropout_0', [1000], 0.3);
    const x = Tensor.from([2, 1000], new Float32Array(2000).fill(1));
    const run = (): Float32Array => layer.forward(x, { backend: createReferenceBackend(), training: true, rng: new Random(5) }).data.slice();
    const y = run();
    const dropped = y.filter((v) => v === 0).length;
    expect(dropped / 2000).toBeGreaterThan(0.25);
    expect(dropped / 2000).toBeLessThan(0.35);
    expect(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    expect(run()).toEqual(y);
  });

  it('is the identity in inference mode (output is the input, gradient passes through)', () => {
    const layer = new Dropout('dropout_0', [3], 0.5);
    const ctx = { backend: createReferenceBackend(), training: false, rng: new Random(1) };
    const x = Tensor.from([1, 3], [1, 2, 3]);
    expect(Array.from(layer.forward(x, ctx).data)).toEqual([1, 2, 3]);
    expect(Array.from(layer.backward(Tensor.from([1, 3], [4, 5, 6]), ctx, true)!.data)).toEqual([4, 5, 6]);
  });
});
