import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkLossShapes, featuresPerSample } from './check-shapes.js';
import type { Loss } from './loss.js';

/**
 * Per sample the mean over its features of |y − t|, summed over samples (Keras' mae per sample,
 * see Note [per-sample reduction] in loss.ts).
 *
 * Backward: sign(y − t)/F. At y = t the loss has a kink; the subgradient 0 is taken there, as
 * Keras/TF do (tf.sign(0) = 0), so a sample predicted exactly contributes no push either way.
 */
export const meanAbsoluteError: Loss = {
  name: 'meanAbsoluteError',
  compute(output: Tensor, target: Tensor, dOutput: Tensor | null, _backend: Backend): number {
    checkLossShapes('meanAbsoluteError', output, target);
    const F = featuresPerSample(output);
    const Y = output.data, T = target.data;
    const G = dOutput?.data;
    let total = 0;
    for (let i = 0; i < Y.length; i++) {
      const d = Y[i]! - T[i]!;
      total += Math.abs(d);
      if (G) G[i] = Math.sign(d) / F;
    }
    return total / F;
  },
};
