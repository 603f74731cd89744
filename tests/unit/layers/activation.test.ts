import { describe, expect, it } from 'vitest';
import { checkLayerGradients } from '../../helpers/gradcheck.js';
import { Activation } from '../../../shared/src/layers/activation.js';
import { LAYER_ACTIVATIONS, defaultAlpha } from '../../../shared/src/layers/activation-op.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

describe('Activation layer', () => {
  for (const kind of LAYER_ACTIVATIONS) {
    it(`${kind}: input gradient matches finite differences on a [2, 3, 4] input`, () => {
      const report = checkLayerGradients(new Activation('activation_0', [3, 4], kind, defaultAlpha(kind)), { batch: 2 });
      expect(report.passed, report.summary).toBe(true);
    });
  }

  it('negative control: a sigmoid gradient scaled by 1.01 fails the check', () => {
    const report = checkLayerGradients(new Activation('activation_0', [5], 'sigmoid', 0), {
      batch: 2,
      tamper: (_l, g) => g.forEach((v, i) => (g[i] = v * 1.01)),
    });
    expect(report.passed).toBe(false);
  });

  it('negative control: a leakyRelu gradient that ignores alpha (plain relu) fails the check', () => {
    const layer = new Activation('activation_0', [6], 'leakyRelu', 0.2);
    const x = [-2, -1, -0.5, 0.5, 1, 2, -3, 3, -0.7, 0.7, -1.5, 1.5];
    const report = checkLayerGradients(layer, { batch: 2, input: x, tamper: (_l, g) => g.forEach((v, i) => { if (x[i]! < 0) g[i] = 0; }) });
    expect(report.passed).toBe(false);
  });

  it('softmax normalises over the last axis: every row of a [1, 2, 3] input sums to 1', () => {
    const layer = new Activation('activation_0', [2, 3], 'softmax', 0);
    const y = layer.forward(Tensor.from([1, 2, 3], [1, 2, 3, -5, 0, 5]), { backend: createReferenceBackend(), training: false, rng: new Random(1) });
    expect(y.data[0]! + y.data[1]! + y.data[2]!).toBeCloseTo(1, 6);
    expect(y.data[3]! + y.data[4]! + y.data[5]!).toBeCloseTo(1, 6);
  });
});
