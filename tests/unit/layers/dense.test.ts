import { describe, expect, it } from 'vitest';
import { checkLayerGradients } from '../../helpers/gradcheck.js';
import { LAYER_ACTIVATIONS, defaultAlpha } from '../../../shared/src/layers/activation-op.js';
import type { LayerActivation } from '../../../shared/src/layers/activation-op.js';
import { Dense } from '../../../shared/src/layers/dense.js';
import type { DenseOptions } from '../../../shared/src/layers/dense.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

function dense(units: number, inputs: number, activation: LayerActivation, extra: Partial<DenseOptions> = {}): Dense {
  return new Dense('dense_0', [inputs], {
    units, activation, alpha: defaultAlpha(activation), useBias: true, kernelInitializer: 'glorotUniform', biasInitializer: 'zeros', ...extra,
  });
}

describe('Dense', () => {
  for (const activation of LAYER_ACTIVATIONS) {
    it(`input, kernel and bias gradients match finite differences with activation ${activation}`, () => {
      const report = checkLayerGradients(dense(3, 5, activation), { batch: 4 });
      expect(report.passed, report.summary).toBe(true);
    });
  }

  it('gradients match finite differences without a bias (only the kernel is a parameter)', () => {
    const layer = dense(2, 3, 'tanh', { useBias: false });
    expect(layer.params.map((p) => p.name)).toEqual(['kernel']);
    const report = checkLayerGradients(layer, { batch: 2 });
    expect(report.passed, report.summary).toBe(true);
  });

  it('negative control: a kernel gradient scaled by 1.01 fails the check', () => {
    const report = checkLayerGradients(dense(3, 5, 'sigmoid'), {
      batch: 4,
      tamper: (label, g) => { if (label.endsWith('/kernel')) g.forEach((v, i) => (g[i] = v * 1.01)); },
    });
    expect(report.results.find((r) => r.label.endsWith('/kernel'))!.passed).toBe(false);
    expect(report.results.find((r) => r.label.endsWith('/input'))!.passed).toBe(true);
  });

  it('computes x·W + b on a hand-worked example and exposes the regularizer on the kernel only', () => {
    const layer = dense(2, 2, 'linear', { kernelRegularizer: { l1: 0, l2: 0.01 } });
    expect(layer.params[0]!.update).toEqual({ kind: 'gradient', regularizer: { l1: 0, l2: 0.01 } });
    expect(layer.params[1]!.update).toEqual({ kind: 'gradient' });
    layer.bind([Tensor.from([2, 2], [1, 2, 3, 4]), Tensor.from([2], [10, 20])], [Tensor.zeros([2, 2]), Tensor.zeros([2])]);
    const y = layer.forward(Tensor.from([1, 2], [1, 1]), { backend: createReferenceBackend(), training: true, rng: new Random(1) });
    expect(Array.from(y.data)).toEqual([14, 26]);
  });

  it('returns null and still writes parameter gradients when the input gradient is not needed', () => {
    const layer = dense(2, 2, 'relu');
    const kernelSlot = Tensor.zeros([2, 2]);
    layer.bind([Tensor.from([2, 2], [1, -1, 2, 0.5]), Tensor.from([2], [0.1, 0.2])], [kernelSlot, Tensor.zeros([2])]);
    const ctx = { backend: createReferenceBackend(), training: true, rng: new Random(1) };
    layer.forward(Tensor.from([1, 2], [1, 2]), ctx);
    expect(layer.backward(Tensor.from([1, 2], [1, 1]), ctx, false)).toBeNull();
    // z = [5.1, 0.2]: both units active, so dW = xᵀ·dy = [[1, 1], [2, 2]].
    expect(Array.from(kernelSlot.data)).toEqual([1, 1, 2, 2]);
  });
});
