import { describe, expect, it } from 'vitest';
import { checkLayerGradients, scaleLargest } from '../../helpers/gradcheck.js';
import { Conv2D } from '../../../shared/src/layers/conv2d.js';
import type { Conv2DOptions } from '../../../shared/src/layers/conv2d.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import type { Shape } from '../../../shared/src/tensor/tensor.js';

function conv(inputShape: Shape, options: Partial<Conv2DOptions>): Conv2D {
  return new Conv2D('conv2d_0', inputShape, {
    filters: 3, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', activation: 'linear', alpha: 0, useBias: true,
    kernelInitializer: 'glorotUniform', biasInitializer: 'zeros', ...options,
  });
}

const cases: Array<{ title: string; inputShape: Shape; options: Partial<Conv2DOptions>; outputShape: Shape }> = [
  { title: "'valid' 3×3 stride 1", inputShape: [5, 5, 2], options: {}, outputShape: [3, 3, 3] },
  { title: "'same' 3×3 stride 1", inputShape: [4, 4, 2], options: { padding: 'same' }, outputShape: [4, 4, 3] },
  { title: "'same' 3×3 stride 2 on odd 5×7 (asymmetric padding)", inputShape: [5, 7, 1], options: { padding: 'same', strides: [2, 2] }, outputShape: [3, 4, 3] },
  { title: "'valid' 2×3 stride [2, 1] on odd 5×6", inputShape: [5, 6, 2], options: { kernelSize: [2, 3], strides: [2, 1], filters: 2 }, outputShape: [2, 4, 2] },
  { title: "'same' even 2×2 window with fused tanh", inputShape: [3, 3, 2], options: { kernelSize: [2, 2], padding: 'same', activation: 'tanh' }, outputShape: [3, 3, 3] },
  { title: "'valid' 3×3 with fused relu", inputShape: [5, 5, 2], options: { activation: 'relu' }, outputShape: [3, 3, 3] },
];

describe('Conv2D', () => {
  for (const c of cases) {
    it(`input, kernel and bias gradients match finite differences: ${c.title}`, () => {
      const layer = conv(c.inputShape, c.options);
      expect(layer.outputShape).toEqual(c.outputShape);
      const report = checkLayerGradients(layer, { batch: 2 });
      expect(report.passed, report.summary).toBe(true);
    });
  }

  it('negative control: the largest kernel-gradient element off by 5% fails the check (and only the kernel check)', () => {
    const report = checkLayerGradients(conv([4, 4, 2], { padding: 'same' }), {
      batch: 2,
      tamper: (label, g) => { if (label.endsWith('/kernel')) scaleLargest(g, 1.05); },
    });
    expect(report.passed).toBe(false);
    expect(report.results.filter((r) => !r.passed).map((r) => r.label)).toEqual(['conv2d_0/kernel']);
  });

  it('adds the bias per filter after the convolution (1×1 kernel, hand-computed)', () => {
    const layer = conv([1, 2, 2], { kernelSize: [1, 1], filters: 1 });
    // kernel [1,1,2,1] = [2, 3]; bias 0.5: y = 2·x0 + 3·x1 + 0.5
    layer.bind([Tensor.from([1, 1, 2, 1], [2, 3]), Tensor.from([1], [0.5])], [Tensor.zeros([1, 1, 2, 1]), Tensor.zeros([1])]);
    const y = layer.forward(Tensor.from([1, 1, 2, 2], [1, 1, 0, -1]), { backend: createReferenceBackend(), training: false, rng: new Random(1) });
    expect(Array.from(y.data)).toEqual([5.5, -2.5]);
  });
});
