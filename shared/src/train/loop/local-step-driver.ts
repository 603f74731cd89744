import type { Dataset } from '../../data/dataset.js';
import { epochPermutation } from '../../data/sampler.js';
import { DivergenceError } from '../../errors.js';
import { saveTrainingCheckpoint } from '../checkpointing.js';
import { evaluateSamples, summarizeEvaluation, type Evaluation } from '../evaluation.js';
import { injectedNan, poisonGradient } from '../fault-injection.js';
import { bulkFloats } from '../../kernels/native/bulk-floats.js';
import type { Model } from '../model.js';
import type { TrainingState } from '../training-state.js';
import { applyUpdate } from '../update.js';
import type { EpochDecision, PlannedStep, SkippedStep, Split, StepDriver, StepResult } from './step-driver.js';
import { describeSkips } from './skips.js';
import { wallMs, type StepTrace } from '../../monitor/step-trace.js';

export interface LocalSplits {
  readonly train: Dataset;
  readonly validation?: Dataset | undefined;
  readonly test?: Dataset | undefined;
}

/**
 * Carries out the training loop's decisions in this process: the model's executor computes the gradient
 * sums of the whole global batch (its micro-batches on the pool threads or the main thread), and the
 * update is applied here — unless the gradient sums are not finite (Note [NaN/Inf guard] in
 * training-loop.ts): this process is rank 0 of a world of one, so its local gradient is the summed one.
 */
export class LocalStepDriver implements StepDriver {
  readonly #model: Model;
  readonly #splits: LocalSplits;
  readonly #checkpointDir: string | undefined;
  /** Test-only: the step whose gradient is made NaN (GRADMESH_FAULT_NAN, see fault-injection.ts). */
  readonly #faultStep: number | undefined;
  #permutation: { epoch: number; order: Uint32Array } | undefined;
  /** Step timelines for a trace (Note [step traces]): compute, then the update; no all-reduce, no reply. */
  readonly #trace: StepTrace | undefined;

  constructor(model: Model, splits: LocalSplits, checkpointDir?: string, trace?: StepTrace) {
    this.#model = model;
    this.#splits = splits;
    this.#checkpointDir = checkpointDir;
    this.#trace = trace;
    const fault = injectedNan();
    this.#faultStep = fault?.rank === 0 ? fault.step : undefined;
  }

  get trainCount(): number {
    return this.#splits.train.count;
  }

  readonly splitCount = (split: Split): number => this.#splits[split]?.count ?? 0;

  async step(p: PlannedStep): Promise<StepResult> {
    const model = this.#model;
    const timeline = this.#trace?.begin(p.step, 0, 0);
    const stats = await model.executor.computeGradients(this.#splits.train, this.#order(p.epoch), p.globalStart, p.globalEnd, p.step);
    if (timeline !== undefined) timeline.computed = timeline.reduced = wallMs();
    const slots = model.params.slots.data;
    if (p.step === this.#faultStep) poisonGradient(slots);
    // The whole slot buffer: BatchNorm's observed statistics travel in it and would reach the running stats.
    const skipped = !bulkFloats().allFinite(slots);
    const penalty = skipped ? 0 : applyUpdate(model.params, model.optimizer, p.lr, stats.count, model.config.training, model.backend.kernels).penalty;
    if (timeline !== undefined) {
      timeline.updated = timeline.replying = timeline.replied = wallMs();
      this.#trace!.record(timeline);
    }
    return { stats, penalty, skipped, nonFiniteRanks: skipped ? [0] : [] };
  }

  skipLimitError(skips: readonly SkippedStep[]): Error {
    return new DivergenceError(`training diverged: the gradient was not finite at ${skips.length} consecutive step${skips.length > 1 ? 's' : ''}, ${describeSkips(skips)}, and ${skips.length > 1 ? 'their updates were' : 'its update was'} skipped`, skips.map((k) => k.step), {
      hint: 'lower optimizer.learningRate, set training.clipNorm, check the data for NaN/Inf, or raise --max-skipped (0 = never stop)',
    });
  }

  async evaluate(split: Split, options: { confusion: boolean }): Promise<Evaluation> {
    const data = this.#splits[split]!;
    return summarizeEvaluation([await evaluateSamples(this.#model.executor, data, 0, data.count, options)], data.classes);
  }

  async endEpoch(decision: EpochDecision): Promise<void> {
    if (decision.keepBest) this.#model.params.keepBest();
    if (decision.restoreBest) this.#model.params.restoreBest();
  }

  async checkpoint(state: TrainingState, options: { stoppedBy?: string }): Promise<string> {
    return saveTrainingCheckpoint(this.#checkpointDir!, this.#model, state, options);
  }

  /** The epoch's permutation, drawn once per epoch from (seed, epoch). */
  #order(epoch: number): Uint32Array {
    if (this.#permutation?.epoch !== epoch) this.#permutation = { epoch, order: epochPermutation(this.#splits.train.count, this.#model.config.seed, epoch) };
    return this.#permutation.order;
  }
}
