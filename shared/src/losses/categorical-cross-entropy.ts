import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkLossShapes } from './check-shapes.js';
import type { Loss } from './loss.js';

/** Probabilities are clipped to [ε, 1 − ε] before the log, as Keras does, so p = 0 costs −log ε, not ∞. */
export const PROBABILITY_EPSILON = 1e-7;

/**
 * Cross-entropy of probabilities (e.g. a softmax layer's output): per sample −Σ_c t_c·log p_c.
 * Unlike Keras the rows are not renormalised to sum to 1: the input is taken to be a
 * distribution already. Where p was clipped the gradient is 0 (the clip is flat there).
 * Prefer softmaxCrossEntropy on logits: it is stable where this saturates.
 */
export const categoricalCrossEntropy: Loss = {
  name: 'categoricalCrossEntropy',
  compute(output: Tensor, target: Tensor, dOutput: Tensor | null, _backend: Backend): number {
    checkLossShapes('categoricalCrossEntropy', output, target);
    const P = output.data, T = target.data;
    const G = dOutput?.data;
    let total = 0;
    for (let i = 0; i < P.length; i++) {
      const t = T[i]!;
      const p = P[i]!;
      const clipped = Math.min(Math.max(p, PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);
      if (t !== 0) total -= t * Math.log(clipped);
      if (G) G[i] = clipped === p ? -t / p : 0;
    }
    return total;
  },
};
