import type { RunConfig, TrainingConfig } from '../config/run-config.js';
import type { Dataset } from '../data/dataset.js';
import { batchesPerEpoch, epochPermutation, globalBatchRange } from '../data/sampler.js';
import { GradmeshError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import { buildNetwork, modelKind } from '../model/build.js';
import type { BatchStats, Network } from '../model/network.js';
import { ParameterStore } from '../model/parameters.js';
import { summarize } from '../model/summary.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { optimizerFromSpec, optimizerLearningRate } from '../optimizers/registry.js';
import { Random } from '../random.js';
import { learningRateAt, resolveSchedule, scheduleFromSpec, type Schedule } from '../schedules/schedule.js';
import { Tensor } from '../tensor/tensor.js';
import { ConfusionMatrix } from './metrics.js';
import { EarlyStopping, type EarlyStoppingState } from './early-stopping.js';
import type { GradientExecutor } from './executor.js';
import type { EpochRecord, ProgressEvent } from './history.js';
import { applyUpdate } from './update.js';
import { restoreTrainingState, saveTrainingState, type TrainingPosition } from './checkpointing.js';

export interface ModelOptions {
  readonly backend: Backend;
  /** Builds the executor for this model (pool threads or the main thread). */
  readonly executor: (network: Network, store: ParameterStore) => GradientExecutor;
}

export interface FitOptions {
  /** Held-out data; defaults to the last `validationSplit` of `train` when that is > 0. */
  readonly validation?: Dataset;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Directory for checkpoints (end of every epoch and every `checkpointEverySteps`). */
  readonly checkpointDir?: string;
  /** Stop after this many steps (for tests and the resume check); the state stays resumable. */
  readonly maxSteps?: number;
}

export interface Evaluation {
  readonly loss: number;
  readonly count: number;
  readonly accuracy: number | null;
  /** Per-sample means of model-specific sums (e.g. `kl`, `reconstruction`, `squaredError`). */
  readonly extras: Record<string, number>;
  readonly confusion: ConfusionMatrix | null;
}

/**
 * A model you can train: the Keras surface (fit / evaluate / predict / summary) over a network,
 * its flat parameters, an optimizer and an executor. The config is the compile step: loss,
 * optimizer, schedule and training options all come from it, validated up front.
 */
export class Model {
  readonly config: RunConfig;
  readonly network: Network;
  readonly params: ParameterStore;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly baseLearningRate: number;
  readonly backend: Backend;
  readonly kind: 'sequential' | 'autoencoder' | 'vae';
  readonly executor: GradientExecutor;
  /** Optimizer steps taken. */
  step = 0;
  /** Where training resumes: the next epoch and the next batch within it. */
  position: TrainingPosition = { epoch: 0, batch: 0 };
  history: EpochRecord[] = [];
  earlyStopping: EarlyStoppingState | undefined;
  #bestValues: Float32Array | undefined;
  /** Training-loss sums of the epoch in progress (so a mid-epoch resume reports the same loss). */
  #epochStats: BatchStats & { seconds: number } = { lossSum: 0, count: 0, extras: {}, seconds: 0 };

  constructor(config: RunConfig, options: ModelOptions) {
    const scope = config.file === '(inline)' ? { path: '' } : { path: '', file: config.file };
    this.config = config;
    this.backend = options.backend;
    this.kind = modelKind(config.model);
    this.network = buildNetwork(config.model, config.loss, scope);
    this.params = new ParameterStore(this.network, this.backend);
    this.params.initialize(Random.derive(config.seed, 0x1417));
    const sizes = this.params.trainable.map((s) => s.value.size);
    this.optimizer = optimizerFromSpec(config.optimizer, { path: 'optimizer', ...(scope.file ? { file: scope.file } : {}) }, this.backend, sizes);
    this.baseLearningRate = optimizerLearningRate(config.optimizer);
    this.schedule = scheduleFromSpec(config.schedule, { path: 'schedule', ...(scope.file ? { file: scope.file } : {}) });
    this.executor = options.executor(this.network, this.params);
  }

  /** The Keras-style summary table: layer, type, output shape, parameters. */
  summary(): string {
    return summarize(this.network);
  }

  get training(): TrainingConfig {
    return this.config.training;
  }

  /** Learning rate of optimizer step `step` (0-based) with `batches` steps per epoch. */
  learningRate(step: number, batches: number): number {
    return learningRateAt(resolveSchedule(this.schedule, { stepsPerEpoch: batches, totalSteps: batches * this.training.epochs }), this.baseLearningRate, step);
  }

  async fit(train: Dataset, options: FitOptions = {}): Promise<EpochRecord[]> {
    const t = this.training;
    let trainSet = train;
    let validation = options.validation;
    if (!validation && t.validationSplit > 0) ({ train: trainSet, validation } = train.split(t.validationSplit));
    const batches = batchesPerEpoch(trainSet.count, t.batchSize, t.dropLast);
    if (batches === 0) throw new GradmeshError('E_DATA', `training set has ${trainSet.count} samples, fewer than one batch of ${t.batchSize} with dropLast`);
    const stopper = t.earlyStopping ? new EarlyStopping(t.earlyStopping, this.earlyStopping) : undefined;
    const started = Date.now();
    const stepsAtStart = this.step;
    let stepsTaken = 0;
    while (this.position.epoch < t.epochs) {
      const epoch = this.position.epoch;
      const permutation = epochPermutation(trainSet.count, this.config.seed, epoch);
      const epochStart = Date.now() - this.#epochStats.seconds * 1000;
      for (let b = this.position.batch; b < batches; b++) {
        if (options.maxSteps !== undefined && stepsTaken >= options.maxSteps) return this.history;
        const [s, e] = globalBatchRange(b, trainSet.count, t.batchSize);
        const stats = await this.executor.computeGradients(trainSet, permutation, s, e, this.step);
        const lr = this.learningRate(this.step, batches);
        const { penalty } = applyUpdate(this.params, this.optimizer, lr, stats.count, t, this.backend.kernels);
        this.#accumulate(stats, penalty);
        this.step++;
        stepsTaken++;
        this.position = { epoch, batch: b + 1 };
        this.#epochStats.seconds = (Date.now() - epochStart) / 1000;
        if (options.onProgress) {
          const elapsed = (Date.now() - started) / 1000;
          const done = this.step - stepsAtStart;
          const remaining = (t.epochs - epoch) * batches - (b + 1);
          options.onProgress({
            type: 'batch', epoch, epochs: t.epochs, batch: b + 1, batches,
            loss: this.#epochStats.lossSum / Math.max(1, this.#epochStats.count),
            samplesPerSec: this.#epochStats.count / Math.max(1e-9, this.#epochStats.seconds),
            etaSeconds: (elapsed / done) * remaining,
          });
        }
        if (options.checkpointDir && t.checkpointEverySteps && this.step % t.checkpointEverySteps === 0 && b + 1 < batches) {
          const path = await this.saveCheckpoint(options.checkpointDir);
          options.onProgress?.({ type: 'checkpoint', path, step: this.step });
        }
      }
      const record = await this.#finishEpoch(epoch, validation, batches);
      this.history.push(record);
      let stop = false;
      if (stopper) {
        const monitored = stopper.config.monitor === 'valAccuracy' ? record.valAccuracy : record.valLoss;
        if (monitored === null) throw new GradmeshError('E_CONFIG', `training.earlyStopping monitors ${stopper.config.monitor} but there is no validation data (set training.validationSplit)`);
        const { improved, stop: shouldStop } = stopper.observe(epoch, monitored);
        if (improved && stopper.config.restoreBestWeights) this.#bestValues = this.params.values.data.slice();
        this.earlyStopping = stopper.state;
        stop = shouldStop;
      }
      this.position = { epoch: stop ? t.epochs : epoch + 1, batch: 0 };
      this.#epochStats = { lossSum: 0, count: 0, extras: {}, seconds: 0 };
      const elapsed = (Date.now() - started) / 1000;
      const epochsDone = this.history.length;
      options.onProgress?.({ type: 'epoch', record, epochs: t.epochs, etaSeconds: stop ? 0 : (elapsed / Math.max(1, epochsDone)) * (t.epochs - epoch - 1), stoppedEarly: stop });
      if (stop || this.position.epoch >= t.epochs) this.#restoreBest();
      if (options.checkpointDir) {
        const path = await this.saveCheckpoint(options.checkpointDir);
        options.onProgress?.({ type: 'checkpoint', path, step: this.step });
      }
    }
    return this.history;
  }

  async evaluate(data: Dataset, options: { confusion?: boolean } = {}): Promise<Evaluation> {
    const all = identity(data.count);
    const stats = await this.executor.evaluate(data, all, 0, data.count);
    let confusion: ConfusionMatrix | null = null;
    if (options.confusion && stats.correct !== undefined && data.classes > 0) {
      confusion = new ConfusionMatrix(data.classes);
      const chunk = 2048;
      for (let s = 0; s < data.count; s += chunk) {
        const e = Math.min(data.count, s + chunk);
        const out = await this.executor.predict(data, all, s, e);
        const targets = new Float32Array((e - s) * data.classes);
        data.gatherOneHot(all, s, e, targets);
        confusion.addBatch(out, new Tensor([e - s, data.classes], targets));
      }
    }
    const extras: Record<string, number> = {};
    for (const [k, v] of Object.entries(stats.extras)) extras[k] = v / stats.count;
    return {
      loss: stats.lossSum / stats.count,
      count: stats.count,
      accuracy: stats.correct === undefined ? null : stats.correct / stats.count,
      extras,
      confusion,
    };
  }

  async predict(data: Dataset, start = 0, end = data.count): Promise<Tensor> {
    return this.executor.predict(data, identity(data.count), start, end);
  }

  async saveCheckpoint(dir: string): Promise<string> {
    return saveTrainingState(dir, this);
  }

  /** Loads parameters, optimizer state and the training position from a checkpoint file. */
  async restore(file: string): Promise<void> {
    await restoreTrainingState(file, this);
  }

  async close(): Promise<void> {
    await this.executor.close();
  }

  #accumulate(stats: BatchStats, penalty: number): void {
    const acc = this.#epochStats;
    acc.lossSum += stats.lossSum + penalty * stats.count;
    acc.count += stats.count;
    if (stats.correct !== undefined) acc.correct = (acc.correct ?? 0) + stats.correct;
    for (const [k, v] of Object.entries(stats.extras)) acc.extras[k] = (acc.extras[k] ?? 0) + v;
  }

  async #finishEpoch(epoch: number, validation: Dataset | undefined, batches: number): Promise<EpochRecord> {
    const acc = this.#epochStats;
    const seconds = acc.seconds;
    let valLoss: number | null = null;
    let valAccuracy: number | null = null;
    if (validation && validation.count > 0) {
      const v = await this.evaluate(validation);
      valLoss = v.loss;
      valAccuracy = v.accuracy;
    }
    const extras: Record<string, number> = {};
    for (const [k, v] of Object.entries(acc.extras)) extras[k] = v / Math.max(1, acc.count);
    return {
      epoch: epoch + 1,
      trainLoss: acc.lossSum / Math.max(1, acc.count),
      trainAccuracy: acc.correct === undefined ? null : acc.correct / Math.max(1, acc.count),
      valLoss,
      valAccuracy,
      seconds,
      learningRate: this.learningRate(Math.max(0, this.step - 1), batches),
      samplesPerSec: acc.count / Math.max(1e-9, seconds),
      extras,
    };
  }

  #restoreBest(): void {
    if (this.#bestValues && this.earlyStopping && this.earlyStopping.bestEpoch + 1 !== this.history.length) {
      this.params.values.data.set(this.#bestValues);
    }
  }

  /** For checkpointing: the epoch-in-progress sums and the best weights kept by early stopping. */
  get epochInProgress(): BatchStats & { seconds: number } {
    return this.#epochStats;
  }
  set epochInProgress(stats: BatchStats & { seconds: number }) {
    this.#epochStats = stats;
  }
  get bestValues(): Float32Array | undefined {
    return this.#bestValues;
  }
  set bestValues(v: Float32Array | undefined) {
    this.#bestValues = v;
  }
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
