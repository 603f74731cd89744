import type { BatchStats } from '../../model/network.js';
import type { Evaluation } from '../evaluation.js';
import type { SkippedStep, TrainingState } from '../training-state.js';

export type { SkippedStep } from '../training-state.js';

/** One optimizer step as the loop plans it: which batch of which epoch, at which learning rate. */
export interface PlannedStep {
  /** The optimizer step (0-based): also the seed of this step's dropout/noise draws. */
  readonly step: number;
  readonly epoch: number;
  /** Batch index within the epoch; the global batch is samples [globalStart, globalEnd) of the epoch's permutation. */
  readonly batchIndex: number;
  readonly globalStart: number;
  readonly globalEnd: number;
  readonly lr: number;
  /** No step follows this one in this invocation (the end of training, or --max-steps reached). */
  readonly lastOfRun: boolean;
}

/**
 * What a step computed over its global batch: loss/metric sums and the regularization penalty of the update,
 * or that the update was skipped because the (reduced) gradient was not finite.
 */
export interface StepResult {
  readonly stats: BatchStats;
  readonly penalty: number;
  /** The summed gradient held a NaN or ±Infinity: no parameter, optimizer state or running statistic changed. */
  readonly skipped: boolean;
  /** The ranks whose LOCAL gradient was not finite, ascending (empty when only the sum overflowed). */
  readonly nonFiniteRanks: readonly number[];
}


/** The loop's early-stopping decision at an epoch end, for whoever holds the parameters. */
export interface EpochDecision {
  readonly epoch: number;
  /** This epoch is the best so far: snapshot the parameters. */
  readonly keepBest: boolean;
  /** Training is over and the best epoch was not the last: restore the snapshot. */
  readonly restoreBest: boolean;
}

export type Split = 'validation' | 'test';

/**
 * How the training loop's decisions are carried out. The loop (training-loop.ts) owns every decision —
 * which batch, which learning rate, when to evaluate, stop, restore the best weights and checkpoint — and
 * a driver only executes them: the local driver in this process (executor + update), the cluster driver
 * by commands to every replica over NATS. Equivalence of one process and N workers therefore holds by
 * construction: there is one loop.
 */
export interface StepDriver {
  /** Samples in the training split (after the validation split is held out). */
  readonly trainCount: number;
  /**
   * How many of the steps that follow each step the driver wants announced, to start them early (the cluster
   * driver sends their commands ahead); the loop is then committed to them (Note [the loop announces its next
   * steps]). Absent or 0: steps are taken one by one.
   */
  readonly stepsAhead?: number;
  /** Samples in each evaluation split (0 when absent). */
  readonly splitCount: (split: Split) => number;
  /**
   * Computes the gradient of the global batch, applies the update with `lr`, and reports the sums — or,
   * when the summed gradient is not finite, applies nothing and reports the step as skipped (see Note
   * [NaN/Inf guard] in training-loop.ts).
   * `upcoming`: the steps (at most `stepsAhead`, in order) the loop runs right after this one whatever its result
   * (unless the run fails) — no evaluation, checkpoint or end in between. A driver may start them early (the
   * cluster driver sends their commands ahead); the loop then takes each of them even if a stop is requested in
   * between. Each step's `upcoming` continues the previous one's.
   */
  step(planned: PlannedStep, upcoming: readonly PlannedStep[]): Promise<StepResult>;
  evaluate(split: Split, options: { confusion: boolean }): Promise<Evaluation>;
  endEpoch(decision: EpochDecision): Promise<void>;
  /**
   * Writes a checkpoint of the parameters, optimizer and `state`; returns where it went. `stoppedBy`: the run
   * stops at this checkpoint (Note [a checkpoint at every stop] in training-loop.ts), recorded in it.
   */
  checkpoint(state: TrainingState, options: { stoppedBy?: string }): Promise<string>;
  /**
   * The error that stops the run after `skips.length` consecutive skipped steps (the limit): the driver
   * knows who can fix it — a ClusterError for a cluster run, a DivergenceError (the config or data) for
   * one process.
   */
  skipLimitError(skips: readonly SkippedStep[]): Error;
}
