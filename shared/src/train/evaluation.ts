import type { Dataset } from '../data/dataset.js';
import type { BatchStats } from '../model/network.js';
import { addStats, emptyStats, type GradientExecutor } from './executor.js';
import { regressionMetrics, type RegressionMetrics } from '../losses/regression-metrics.js';
import { ConfusionMatrix } from './metrics.js';

/** A split evaluated in inference mode: per-sample means, accuracy and the confusion matrix. */
export interface Evaluation {
  readonly loss: number;
  readonly count: number;
  readonly accuracy: number | null;
  /** Per-sample means of model-specific sums (e.g. `kl`, `reconstruction`, `squaredError`). */
  readonly extras: Record<string, number>;
  readonly confusion: ConfusionMatrix | null;
  /** A regression split: MAE, RMSE and R² (from the extras' four sums, Note [R² from four sums]). */
  readonly regression?: RegressionMetrics;
}

/**
 * The one evaluation routine of gradmesh. `evaluateSamples` computes the SUMS over samples [start, end)
 * of a data set in its stored order — the whole split in one process, one rank's contiguous shard in a
 * cluster — in a single forward pass that also tallies the confusion matrix; `summarizeEvaluation` adds
 * such sums in the order given (rank order) and turns them into means. Model.evaluate and the cluster
 * replica both use exactly these two functions, so a split evaluated on N ranks reports what one
 * process reports.
 */
export async function evaluateSamples(executor: GradientExecutor, data: Dataset, start: number, end: number, options: { confusion: boolean }): Promise<BatchStats> {
  const stats = end > start ? await executor.evaluate(data, storedOrder(data.count), start, end) : emptyStats();
  if (!options.confusion) delete stats.confusion;
  return stats;
}

export function summarizeEvaluation(parts: readonly BatchStats[], classes: number): Evaluation {
  const sums = parts.reduce(addStats, emptyStats());
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(sums.extras)) extras[k] = v / sums.count;
  let confusion: ConfusionMatrix | null = null;
  if (sums.confusion !== undefined && classes > 0) {
    confusion = new ConfusionMatrix(classes);
    confusion.addCounts(sums.confusion);
  }
  const regression = sums.count > 0 ? regressionMetrics(extras) : undefined;
  return {
    loss: sums.lossSum / sums.count,
    count: sums.count,
    accuracy: sums.correct === undefined ? null : sums.correct / sums.count,
    extras,
    confusion,
    ...(regression === undefined ? {} : { regression }),
  };
}

const orders = new Map<number, Uint32Array>();

/** 0, 1, …, count − 1: evaluation and prediction visit samples in their stored order (cached per size; never mutated). */
export function storedOrder(count: number): Uint32Array {
  let order = orders.get(count);
  if (order === undefined) {
    if (orders.size >= 8) orders.clear();
    order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    orders.set(count, order);
  }
  return order;
}
