import { summarizeEvaluation, type BatchStats, type Evaluation, type EvaluatedBody, type StepDoneBody } from '@gradmesh/shared/internal';

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
 * Merges the ranks' shard evaluations into what Model.evaluate returns for the whole split: the same
 * summarizeEvaluation over the shards' sums, added in rank order.
 */
export function mergeEvaluations(replies: readonly EvaluatedBody[], classes: number): Evaluation {
  const byRank = [...replies].sort((a, b) => a.rank - b.rank);
  return summarizeEvaluation(byRank.map(toSums), classes);
}

function toSums(r: EvaluatedBody): BatchStats {
  const sums: BatchStats = { lossSum: r.lossSum, count: r.count, extras: { ...r.extras } };
  if (r.correct !== undefined) sums.correct = r.correct;
  if (r.confusion !== undefined) sums.confusion = r.confusion.flat();
  return sums;
}
