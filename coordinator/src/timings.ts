import type { StepDoneBody, StepTimingSample } from '@gradmesh/shared/internal';

export interface RankTimings {
  rank: number;
  computeSeconds: number;
  allreduceSeconds: number;
  exposedAllreduceSeconds: number;
  waitSeconds: number;
  steps: number;
}

/**
 * Note [step-time breakdown]
 * For every step the coordinator measures the step's wall time W: from publishing the `step` command to
 * receiving the last rank's `stepDone`. Each rank r reports
 *   compute_r   = its local work for the step: gradients of its shard, the optimizer update, the checksum;
 *   allreduce_r = its all-reduce, from the first bucket's release to the end, which includes waiting there for
 *                 slower ranks' pieces; with overlap (gradient buckets) most of it runs during compute_r;
 *   exposed_r   = the part of allreduce_r after compute_r ended: what the step waited on communication
 *                 (= allreduce_r without overlap). overlap = 1 − exposed / allreduce.
 * What is left of W for that rank is
 *   wait_r = W − compute_r − exposed_r
 * = the command's and the reply's trip through NATS, the rank's event-loop latency, and the time the rank
 * sat idle after replying while the coordinator waited for slower ranks. It can be slightly negative for a
 * step whose clocks jitter (two processes measure), and is kept as measured.
 * With steps sent ahead a step's W runs from the later of its command and the previous step's last reply, and
 * replies held to go out together (Note [replies are sent R at a time] in worker/src/worker.ts) make single
 * steps' W lumpy — the first of a batch long, the rest near 0 and their wait negative — while the sums over
 * steps stay the run's wall time: rates and breakdowns are to be read over many steps.
 * Per rank the three are summed over steps; the run's figures are the means over ranks of those sums, so
 * compute + exposed + wait = the summed step wall time (excluding evaluation and checkpoints).
 */
export class StepTimings {
  readonly #ranks: RankTimings[];
  wallSeconds = 0;

  constructor(worldSize: number) {
    this.#ranks = Array.from({ length: worldSize }, (_, rank) => ({ rank, computeSeconds: 0, allreduceSeconds: 0, exposedAllreduceSeconds: 0, waitSeconds: 0, steps: 0 }));
  }

  /** Adds one step; returns that step's breakdown per rank (for observers of the run). */
  record(step: number, wallMs: number, replies: readonly StepDoneBody[]): StepTimingSample {
    this.wallSeconds += wallMs / 1000;
    for (const r of replies) {
      const t = this.#ranks[r.rank];
      if (t === undefined) continue;
      t.computeSeconds += r.computeMs / 1000;
      t.allreduceSeconds += r.allreduceMs / 1000;
      t.exposedAllreduceSeconds += exposedMs(r) / 1000;
      t.waitSeconds += (wallMs - r.computeMs - exposedMs(r)) / 1000;
      t.steps++;
    }
    return {
      step,
      wallMs,
      ranks: replies.map((r) => ({ rank: r.rank, computeMs: r.computeMs, allreduceMs: r.allreduceMs, exposedAllreduceMs: exposedMs(r), waitMs: wallMs - r.computeMs - exposedMs(r), samples: r.count })),
    };
  }

  perRank(): RankTimings[] {
    return this.#ranks.map((t) => ({ ...t }));
  }

  /** Means over ranks of the per-rank sums. */
  summary(): { computeSeconds: number; allreduceSeconds: number; exposedAllreduceSeconds: number; waitSeconds: number } {
    const n = Math.max(1, this.#ranks.length);
    const mean = (f: (t: RankTimings) => number) => this.#ranks.reduce((s, t) => s + f(t), 0) / n;
    return {
      computeSeconds: mean((t) => t.computeSeconds),
      allreduceSeconds: mean((t) => t.allreduceSeconds),
      exposedAllreduceSeconds: mean((t) => t.exposedAllreduceSeconds),
      waitSeconds: mean((t) => t.waitSeconds),
    };
  }
}

/** A reply without the field (no overlap) waited on its whole all-reduce. */
function exposedMs(reply: StepDoneBody): number {
  return reply.exposedAllreduceMs ?? reply.allreduceMs;
}
