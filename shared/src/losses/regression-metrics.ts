import type { Tensor } from '../tensor/tensor.js';

/**
 * Regression quality as sums that add across micro-batches, threads and cluster ranks like every other
 * evaluation statistic (BatchStats.extras, added in rank order, divided by the sample count once).
 *
 * Note [R² from four sums]: MAE, RMSE and R² of a whole split are functions of four per-sample means —
 * |e|, e², t and t² (e = y − t, each a mean over the sample's target values) — so a rank never needs
 * another rank's samples: R² = 1 − mean(e²) / (mean(t²) − mean(t)²), the variance taken about the
 * split's own mean as scikit-learn's r2_score does. The sums are float64; for targets whose mean is large
 * against their spread (|mean| / std ≳ 1e6) the variance loses digits, which no real data set here nears.
 */
export const REGRESSION_SUMS = ['absoluteError', 'squaredError', 'target', 'targetSquared'] as const;

/** Per-sample sums of |e|, e², t and t² over a batch (each sample's values averaged over its features). */
export function regressionSums(output: Tensor, target: Tensor): Record<(typeof REGRESSION_SUMS)[number], number> {
  const Y = output.data, T = target.data;
  const rows = output.rank === 0 ? 1 : output.dim(0);
  const F = rows === 0 ? 1 : Y.length / rows;
  let absoluteError = 0, squaredError = 0, sum = 0, squares = 0;
  for (let i = 0; i < Y.length; i++) {
    const t = T[i]!;
    const e = Y[i]! - t;
    absoluteError += Math.abs(e);
    squaredError += e * e;
    sum += t;
    squares += t * t;
  }
  return { absoluteError: absoluteError / F, squaredError: squaredError / F, target: sum / F, targetSquared: squares / F };
}

export interface RegressionMetrics {
  readonly mae: number;
  readonly rmse: number;
  /** null when the targets do not vary (R² is undefined there). */
  readonly r2: number | null;
}

/** MAE, RMSE and R² from the per-sample MEANS of the four sums (an Evaluation's extras); undefined when they are absent. */
export function regressionMetrics(means: Readonly<Record<string, number>>): RegressionMetrics | undefined {
  const [absoluteError, squaredError, target, targetSquared] = REGRESSION_SUMS.map((k) => means[k]);
  if (absoluteError === undefined || squaredError === undefined || target === undefined || targetSquared === undefined) return undefined;
  const variance = targetSquared - target * target;
  return { mae: absoluteError, rmse: Math.sqrt(squaredError), r2: variance > 0 ? 1 - squaredError / variance : null };
}
