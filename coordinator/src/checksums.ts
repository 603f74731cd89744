import { ClusterError, InternalError } from '@gradmesh/shared/internal';

export interface ChecksumReport {
  readonly rank: number;
  readonly workerId?: string;
  readonly checksum: string;
}

export interface ChecksumComparison {
  readonly agree: boolean;
  /** The checksum most ranks hold (ties go to the group that contains the lowest rank). */
  readonly majority: string;
  /** Ranks whose checksum differs from the majority, ascending. */
  readonly diverging: number[];
}

/**
 * Compares the replicas' parameter checksums. When they differ, the replicas holding the most common value
 * are taken as right and the others are named as diverging (with two ranks that disagree, rank 0's value
 * wins the tie, so rank 1 is named). Any disagreement at all is fatal; the naming only tells the user where
 * to look (a different build, a different data file, a hardware fault on that host).
 */
export function compareChecksums(reports: readonly ChecksumReport[]): ChecksumComparison {
  if (reports.length === 0) throw new InternalError('compareChecksums: no reports');
  const sorted = [...reports].sort((a, b) => a.rank - b.rank);
  const groups = new Map<string, number[]>();
  for (const r of sorted) groups.set(r.checksum, [...(groups.get(r.checksum) ?? []), r.rank]);
  let majority = sorted[0]!.checksum;
  let best = -1;
  // Map iteration follows first appearance, i.e. ascending lowest rank, so `>` keeps the lowest-rank group on ties.
  for (const [checksum, ranks] of groups) {
    if (ranks.length > best) {
      best = ranks.length;
      majority = checksum;
    }
  }
  const diverging = sorted.filter((r) => r.checksum !== majority).map((r) => r.rank);
  return { agree: diverging.length === 0, majority, diverging };
}

/** The ClusterError for a disagreement found at `when` (e.g. "after step 50"). */
export function divergenceError(reports: readonly ChecksumReport[], comparison: ChecksumComparison, when: string, step: number): ClusterError {
  const names = comparison.diverging.map((rank) => {
    const r = reports.find((x) => x.rank === rank)!;
    return `rank ${rank}${r.workerId ? ` (worker ${r.workerId})` : ''} has ${r.checksum.slice(0, 12)}…`;
  });
  const first = comparison.diverging[0]!;
  return new ClusterError(`replicas diverged ${when}: ${names.join(', ')}; the other ranks have ${comparison.majority.slice(0, 12)}…`, {
    rank: first,
    step,
    ...(reports.find((x) => x.rank === first)?.workerId ? { worker: reports.find((x) => x.rank === first)!.workerId! } : {}),
    hint: 'every worker must run the same gradmesh build on the same data files; resume from the last checkpoint',
  });
}
