import type { Kernels } from '../kernels/kernels.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Gradient clipping, applied by the trainer to the trainable gradients after they are averaged
 * (and after regularisation), before the optimizer step. Running-statistic slots are never
 * passed here.
 */

/**
 * Scales all gradients by maxNorm/‖g‖ when their global L2 norm ‖g‖ exceeds maxNorm
 * (TensorFlow's clip_by_global_norm). The norm is summed in float64 in the order of `grads`, so
 * every replica computes the same norm bit for bit.
 *
 * A non-finite norm (NaN/Inf gradients) is reported and the gradients are left untouched:
 * scaling them would turn Inf into NaN or zeros and hide the problem from the trainer's
 * divergence check, which reads `norm`.
 */
export function clipByGlobalNorm(
  grads: readonly Tensor[],
  maxNorm: number,
  kernels: Pick<Kernels, 'sumSquares' | 'scale'>,
): { norm: number; scaled: boolean } {
  let sumSquares = 0;
  for (const g of grads) sumSquares += kernels.sumSquares(g);
  const norm = Math.sqrt(sumSquares);
  if (!Number.isFinite(norm) || norm <= maxNorm) return { norm, scaled: false };
  const factor = maxNorm / norm;
  for (const g of grads) kernels.scale(g, factor, g);
  return { norm, scaled: true };
}

/**
 * Clamps every gradient element to [−clipValue, clipValue] in place and returns how many were
 * clamped. NaN stays NaN, for the same reason as above.
 */
export function clipByValue(grads: readonly Tensor[], clipValue: number): number {
  let clamped = 0;
  for (const g of grads) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) {
      const x = d[i] as number;
      if (x > clipValue) {
        d[i] = clipValue;
        clamped++;
      } else if (x < -clipValue) {
        d[i] = -clipValue;
        clamped++;
      }
    }
  }
  return clamped;
}
