import type { Dataset } from '../../data/dataset.js';
import { epochPermutation } from '../../data/sampler.js';
import { saveTrainingCheckpoint } from '../checkpointing.js';
import { evaluateSamples, summarizeEvaluation, type Evaluation } from '../evaluation.js';
import type { Model } from '../model.js';
import type { TrainingState } from '../training-state.js';
import { applyUpdate } from '../update.js';
import type { EpochDecision, PlannedStep, Split, StepDriver, StepResult } from './step-driver.js';

export interface LocalSplits {
  readonly train: Dataset;
  readonly validation?: Dataset | undefined;
  readonly test?: Dataset | undefined;
}

/**
 * Carries out the training loop's decisions in this process: the model's executor computes the gradient
 * sums of the whole global batch (its micro-batches on the pool threads or the main thread), and the
 * update is applied here.
 */
export class LocalStepDriver implements StepDriver {
  readonly #model: Model;
  readonly #splits: LocalSplits;
  readonly #checkpointDir: string | undefined;
  #permutation: { epoch: number; order: Uint32Array } | undefined;

  constructor(model: Model, splits: LocalSplits, checkpointDir?: string) {
    this.#model = model;
    this.#splits = splits;
    this.#checkpointDir = checkpointDir;
  }

  get trainCount(): number {
    return this.#splits.train.count;
  }

  readonly splitCount = (split: Split): number => this.#splits[split]?.count ?? 0;

  async step(p: PlannedStep): Promise<StepResult> {
    const model = this.#model;
    const stats = await model.executor.computeGradients(this.#splits.train, this.#order(p.epoch), p.globalStart, p.globalEnd, p.step);
    const { penalty } = applyUpdate(model.params, model.optimizer, p.lr, stats.count, model.config.training, model.backend.kernels);
    return { stats, penalty };
  }

  async evaluate(split: Split, options: { confusion: boolean }): Promise<Evaluation> {
    const data = this.#splits[split]!;
    return summarizeEvaluation([await evaluateSamples(this.#model.executor, data, 0, data.count, options)], data.classes);
  }

  async endEpoch(decision: EpochDecision): Promise<void> {
    if (decision.keepBest) this.#model.params.keepBest();
    if (decision.restoreBest) this.#model.params.restoreBest();
  }

  async checkpoint(state: TrainingState): Promise<string> {
    return saveTrainingCheckpoint(this.#checkpointDir!, this.#model, state);
  }

  /** The epoch's permutation, drawn once per epoch from (seed, epoch). */
  #order(epoch: number): Uint32Array {
    if (this.#permutation?.epoch !== epoch) this.#permutation = { epoch, order: epochPermutation(this.#splits.train.count, this.#model.config.seed, epoch) };
    return this.#permutation.order;
  }
}
