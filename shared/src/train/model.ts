import type { RunConfig } from '../config/run-config.js';
import type { Dataset } from '../data/dataset.js';
import type { Backend } from '../kernels/backend.js';
import { buildNetwork, modelKind } from '../model/build.js';
import type { Network } from '../model/network.js';
import { ParameterStore } from '../model/parameters.js';
import { summarize } from '../model/summary.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { optimizerFromSpec } from '../optimizers/registry.js';
import { newRunId } from '../checkpoint/run-identity.js';
import { Random } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { restoreTrainingCheckpoint, saveTrainingCheckpoint, type CheckpointSource } from './checkpointing.js';
import { evaluateSamples, storedOrder, summarizeEvaluation, type Evaluation } from './evaluation.js';
import type { GradientExecutor } from './executor.js';
import type { EpochRecord, ProgressEvent } from './history.js';
import { LocalStepDriver } from './loop/local-step-driver.js';
import { runTrainingLoop, type TrainingOutcome } from './loop/training-loop.js';
import { checkOutputForTask } from './task-output.js';
import { initialTrainingState, type TrainingState } from './training-state.js';

export type { Evaluation } from './evaluation.js';

export interface ModelOptions {
  readonly backend: Backend;
  /** Builds the executor for this model (pool threads or the main thread). */
  readonly executor: (network: Network, store: ParameterStore) => GradientExecutor;
}

import type { StepTrace } from '../monitor/step-trace.js';
export interface FitOptions {
  /** Held-out data; defaults to the last `validationSplit` of `train` when that is > 0. */
  readonly validation?: Dataset;
  /** Evaluated (with its confusion matrix) when training ends; the result is `FitResult.test`. */
  readonly test?: Dataset;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Directory for checkpoints (end of every epoch and every `checkpointEverySteps`). */
  readonly checkpointDir?: string;
  /** Stop after this many steps, with a checkpoint of that step when `checkpointDir` is set. */
  readonly maxSteps?: number;
  /** Asked before every step: a reason (e.g. `SIGINT`) stops training there, with a checkpoint (Note [a checkpoint at every stop]). */
  readonly stopRequested?: () => string | undefined;
  /** Stop (DivergenceError) after this many consecutive steps skipped for a non-finite gradient (default 5; 0 = never). */
  readonly maxSkipped?: number;
  /** Receives every step's timeline (compute, update; Note [step traces]), for `gradmesh train --trace-dir`. */
  readonly trace?: StepTrace;
}

/** What `fit` did: the history (Keras' History) and the figures of this invocation. */
export interface FitResult extends TrainingOutcome {
  readonly history: readonly EpochRecord[];
}

/**
 * A model you can train: the Keras surface (fit / evaluate / predict / summary) over a network, its flat
 * parameters, an optimizer and an executor. The config is the compile step: loss, optimizer, schedule and
 * training options all come from it, validated up front. Training itself is the one training loop
 * (loop/training-loop.ts) run with the local driver; where training stands is `state`.
 */
export class Model {
  readonly config: RunConfig;
  readonly network: Network;
  readonly params: ParameterStore;
  readonly optimizer: Optimizer;
  readonly backend: Backend;
  readonly kind: 'sequential' | 'autoencoder' | 'vae';
  readonly executor: GradientExecutor;
  /** Where training stands (step, position, history, early stopping): `fit` continues from it, `restore` replaces it. */
  state: TrainingState = initialTrainingState();
  /**
   * The run this model's checkpoints belong to (Note [run-bound checkpoints] in resume-binding.ts): a fresh id,
   * the restored checkpoint's, or a cluster run's `--run` id (set by the worker).
   */
  runId: string = newRunId();
  /**
   * The names of the output classes when the training data named them (string CSV labels): set by `fit`
   * from its training set, saved in checkpoints and restored from them, so predictions can say "setosa".
   */
  classNames: readonly string[] | undefined;

  constructor(config: RunConfig, options: ModelOptions) {
    const scope = config.file === '(inline)' ? { path: '' } : { path: '', file: config.file };
    this.config = config;
    this.backend = options.backend;
    this.kind = modelKind(config.model);
    this.network = buildNetwork(config.model, config.loss, scope);
    checkOutputForTask(config, this.network);
    this.params = new ParameterStore(this.network, this.backend);
    this.params.initialize(Random.derive(config.seed, 0x1417));
    const sizes = this.params.trainable.map((s) => s.value.size);
    this.optimizer = optimizerFromSpec(config.optimizer, { path: 'optimizer', ...(scope.file ? { file: scope.file } : {}) }, this.backend, sizes);
    this.executor = options.executor(this.network, this.params);
  }

  /** The Keras-style summary table: layer, type, output shape, parameters. */
  summary(): string {
    return summarize(this.network);
  }

  /** Trains from `state` on, in this process. */
  async fit(train: Dataset, options: FitOptions = {}): Promise<FitResult> {
    if (train.classNames !== undefined) this.classNames = train.classNames;
    let trainSet = train;
    let validation = options.validation;
    const split = this.config.training.validationSplit;
    if (!validation && split > 0) ({ train: trainSet, validation } = train.split(split));
    const driver = new LocalStepDriver(this, { train: trainSet, validation, test: options.test }, options.checkpointDir, options.trace);
    const outcome = await runTrainingLoop(driver, this.state, {
      config: this.config,
      checkpoints: options.checkpointDir !== undefined,
      evaluateTest: options.test !== undefined,
      ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
      ...(options.maxSkipped === undefined ? {} : { maxSkipped: options.maxSkipped }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.stopRequested === undefined ? {} : { stopRequested: options.stopRequested }),
    });
    return { ...outcome, history: this.state.history };
  }

  async evaluate(data: Dataset, options: { confusion?: boolean } = {}): Promise<Evaluation> {
    return summarizeEvaluation([await evaluateSamples(this.executor, data, 0, data.count, { confusion: options.confusion === true })], data.classes);
  }

  async predict(data: Dataset, start = 0, end = data.count): Promise<Tensor> {
    return this.executor.predict(data, storedOrder(data.count), start, end);
  }

  /** Writes a checkpoint of the parameters, the optimizer and `state` into `dir`; returns the file. */
  async saveCheckpoint(dir: string): Promise<string> {
    return saveTrainingCheckpoint(dir, this, this.state);
  }

  /** Loads parameters, optimizer state and the training state from a checkpoint file (or contents read from a store). */
  async restore(source: CheckpointSource): Promise<void> {
    this.state = await restoreTrainingCheckpoint(source, this);
  }

  async close(): Promise<void> {
    await this.executor.close();
  }
}
