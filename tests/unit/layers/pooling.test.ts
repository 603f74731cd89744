import { describe, expect, it } from 'vitest';
import { checkLayerGradients } from '../../helpers/gradcheck.js';
import { AveragePooling2D } from '../../../shared/src/layers/average-pooling2d.js';
import { MaxPooling2D } from '../../../shared/src/layers/max-pooling2d.js';
import type { Pooling2DOptions } from '../../../shared/src/layers/pooling-options.js';
import type { Shape } from '../../../shared/src/tensor/tensor.js';

const cases: Array<{ title: string; inputShape: Shape; options: Pooling2DOptions; outputShape: Shape }> = [
  { title: "2×2 'valid' stride 2", inputShape: [4, 4, 2], options: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }, outputShape: [2, 2, 2] },
  { title: "2×2 'same' stride 2 on odd 5×5", inputShape: [5, 5, 1], options: { poolSize: [2, 2], strides: [2, 2], padding: 'same' }, outputShape: [3, 3, 1] },
  { title: "3×3 'valid' stride 1 (overlapping windows)", inputShape: [4, 5, 2], options: { poolSize: [3, 3], strides: [1, 1], padding: 'valid' }, outputShape: [2, 3, 2] },
  { title: "3×2 'same' stride [2, 1]", inputShape: [5, 4, 1], options: { poolSize: [3, 2], strides: [2, 1], padding: 'same' }, outputShape: [3, 4, 1] },
];

describe('MaxPooling2D and AveragePooling2D', () => {
  for (const c of cases) {
    it(`maxPool2d input gradient matches finite differences: ${c.title}`, () => {
      const layer = new MaxPooling2D('maxPool2d_0', c.inputShape, c.options);
      expect(layer.outputShape).toEqual(c.outputShape);
      const report = checkLayerGradients(layer, { batch: 2 });
      expect(report.passed, report.summary).toBe(true);
    });
    it(`avgPool2d input gradient matches finite differences: ${c.title}`, () => {
      const layer = new AveragePooling2D('avgPool2d_0', c.inputShape, c.options);
      expect(layer.outputShape).toEqual(c.outputShape);
      const report = checkLayerGradients(layer, { batch: 2 });
      expect(report.passed, report.summary).toBe(true);
    });
  }

  it('negative control: a max-pool gradient routed to the wrong cell fails the check', () => {
    const layer = new MaxPooling2D('maxPool2d_0', [4, 4, 1], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' });
    const report = checkLayerGradients(layer, {
      batch: 1,
      // Move the gradient of the first nonzero cell to its neighbour in the same window.
      tamper: (_label, g) => {
        const i = g.findIndex((v) => v !== 0);
        const j = i % 2 === 0 ? i + 1 : i - 1;
        g[j] = g[i]!;
        g[i] = 0;
      },
    });
    expect(report.passed).toBe(false);
  });
});
