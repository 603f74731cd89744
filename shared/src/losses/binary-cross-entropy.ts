import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { PROBABILITY_EPSILON } from './categorical-cross-entropy.js';
import { checkLossShapes, featuresPerSample } from './check-shapes.js';
import type { Loss } from './loss.js';

/**
 * Binary cross-entropy per element, averaged over a sample's features and summed over samples
 * (Note [per-sample reduction] in loss.ts). Targets may be soft (any value in [0, 1]).
 *
 * Note [stable BCE]: from logits z, −t·log σ(z) − (1−t)·log(1−σ(z)) = max(z,0) − z·t + log(1+e^{−|z|}),
 * which never exponentiates a positive number, so z = ±100 gives a finite loss; its gradient is
 * σ(z) − t. From probabilities, p is clipped to [ε, 1−ε] like Keras and the gradient is 0 where
 * the clip is active.
 */
export function binaryCrossEntropy(fromLogits: boolean): Loss {
  return {
    name: 'binaryCrossEntropy',
    compute(output: Tensor, target: Tensor, dOutput: Tensor | null, _backend: Backend): number {
      checkLossShapes('binaryCrossEntropy', output, target);
      const F = featuresPerSample(output);
      const Y = output.data, T = target.data;
      const G = dOutput?.data;
      let total = 0;
      for (let i = 0; i < Y.length; i++) {
        const t = T[i]!;
        if (fromLogits) {
          const z = Y[i]!;
          total += Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
          if (G) G[i] = (sigmoid(z) - t) / F;
        } else {
          const p = Y[i]!;
          const q = Math.min(Math.max(p, PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);
          total -= t * Math.log(q) + (1 - t) * Math.log(1 - q);
          if (G) G[i] = q === p ? (q - t) / (q * (1 - q)) / F : 0;
        }
      }
      return total / F;
    },
  };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
