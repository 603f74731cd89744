import { describe, expect, it } from 'vitest';
import { checkLayerGradients } from '../../helpers/gradcheck.js';
import { Flatten } from '../../../shared/src/layers/flatten.js';
import { Reshape } from '../../../shared/src/layers/reshape.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

describe('Flatten and Reshape', () => {
  it('flatten turns [2, 3, 2] into [12] keeping row-major order, and its gradient matches finite differences', () => {
    const layer = new Flatten('flatten_0', [2, 3, 2]);
    expect(layer.outputShape).toEqual([12]);
    const x = Tensor.from([1, 2, 3, 2], Array.from({ length: 12 }, (_, i) => i));
    const y = layer.forward(x, { backend: createReferenceBackend(), training: true, rng: new Random(1) });
    expect(y.shape).toEqual([1, 12]);
    expect(Array.from(y.data)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const report = checkLayerGradients(new Flatten('flatten_0', [2, 3, 2]), { batch: 2 });
    expect(report.passed, report.summary).toBe(true);
  });

  it('reshape gives [batch, ...targetShape] and its gradient has the input shape and matches finite differences', () => {
    const layer = new Reshape('reshape_0', [6], [3, 2, 1]);
    const ctx = { backend: createReferenceBackend(), training: true, rng: new Random(1) };
    expect(layer.forward(Tensor.zeros([4, 6]), ctx).shape).toEqual([4, 3, 2, 1]);
    expect(layer.backward(Tensor.zeros([4, 3, 2, 1]), ctx, true)!.shape).toEqual([4, 6]);
    const report = checkLayerGradients(new Reshape('reshape_0', [6], [3, 2, 1]), { batch: 3 });
    expect(report.passed, report.summary).toBe(true);
  });

  it('negative control: a flatten gradient with one element off fails the check', () => {
    const report = checkLayerGradients(new Flatten('flatten_0', [2, 2]), { batch: 2, tamper: (_l, g) => { g[3] = g[3]! + 0.05; } });
    expect(report.passed).toBe(false);
  });
});
