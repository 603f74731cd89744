import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkLossShapes, featuresPerSample } from './check-shapes.js';
import type { Loss } from './loss.js';

/**
 * Per sample the mean over its features of (y − t)², summed over samples (Keras' mse per
 * sample, see Note [per-sample reduction] in loss.ts). Gradient 2(y − t)/F.
 */
export const meanSquaredError: Loss = {
  name: 'meanSquaredError',
  compute(output: Tensor, target: Tensor, dOutput: Tensor | null, _backend: Backend): number {
    checkLossShapes('meanSquaredError', output, target);
    const F = featuresPerSample(output);
    const Y = output.data, T = target.data;
    const G = dOutput?.data;
    let total = 0;
    for (let i = 0; i < Y.length; i++) {
      const d = Y[i]! - T[i]!;
      total += d * d;
      if (G) G[i] = (2 * d) / F;
    }
    return total / F;
  },
};
