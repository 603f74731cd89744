import { ConfusionMatrix, type BatchStats, type Evaluation, type EvaluatedBody, type StepDoneBody } from '@gradmesh/shared/internal';

/** The training statistics of one global batch, added up over the ranks. */
export interface StepStats extends BatchStats {
  /** The regularization penalty of the update (the same on every rank; rank 0's). */
  readonly penalty: number;
}

/**
 * Sums per-rank sums in RANK order (not arrival order), so the figures of a run are reproducible to the
 * last bit. `correct` exists when any rank reports it (an empty shard reports none).
 */
export function sumStepStats(replies: readonly StepDoneBody[]): StepStats {
  const byRank = [...replies].sort((a, b) => a.rank - b.rank);
  let lossSum = 0;
  let count = 0;
  let correct: number | undefined;
  const extras: Record<string, number> = {};
  for (const r of byRank) {
    lossSum += r.lossSum;
    count += r.count;
    if (r.correct !== undefined) correct = (correct ?? 0) + r.correct;
    for (const [k, v] of Object.entries(r.extras)) extras[k] = (extras[k] ?? 0) + v;
  }
  const stats: StepStats = { lossSum, count, extras, penalty: byRank[0]?.penalty ?? 0 };
  if (correct !== undefined) stats.correct = correct;
  return stats;
}

/**
 * Merges the ranks' shard evaluations into what Model.evaluate returns for the whole split: per-sample
 * means of the summed loss and extras, accuracy, and the summed confusion matrix.
 */
export function mergeEvaluations(replies: readonly EvaluatedBody[], classes: number): Evaluation {
  const byRank = [...replies].sort((a, b) => a.rank - b.rank);
  let lossSum = 0;
  let count = 0;
  let correct: number | undefined;
  const sums: Record<string, number> = {};
  let confusion: ConfusionMatrix | null = null;
  for (const r of byRank) {
    lossSum += r.lossSum;
    count += r.count;
    if (r.correct !== undefined) correct = (correct ?? 0) + r.correct;
    for (const [k, v] of Object.entries(r.extras)) sums[k] = (sums[k] ?? 0) + v;
    if (r.confusion !== undefined) {
      confusion ??= new ConfusionMatrix(classes);
      r.confusion.forEach((row, actual) => row.forEach((n, predicted) => {
        for (let i = 0; i < n; i++) confusion!.add(predicted, actual);
      }));
    }
  }
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(sums)) extras[k] = v / count;
  return { loss: lossSum / count, count, accuracy: correct === undefined ? null : correct / count, extras, confusion };
}
