import type { RunConfig } from '../../config/run-config.js';
import { batchesPerEpoch, globalBatchRange } from '../../data/sampler.js';
import { ConfigError, DataError } from '../../errors.js';
import { optimizerLearningRate } from '../../optimizers/registry.js';
import { learningRateAt, resolveSchedule, scheduleFromSpec } from '../../schedules/schedule.js';
import { EarlyStopping } from '../early-stopping.js';
import type { Evaluation } from '../evaluation.js';
import type { EpochRecord, ProgressEvent } from '../history.js';
import { emptyEpochSums, type TrainingState } from '../training-state.js';
import { consecutiveSkips } from './skips.js';
import type { PlannedStep, SkippedStep, StepDriver, StepResult } from './step-driver.js';

/** How often the loop gives the event loop a turn (Note [yielding]). */
const YIELD_EVERY_MS = 50;

export interface TrainingLoopOptions {
  readonly config: RunConfig;
  /** Write checkpoints (every epoch end and every training.checkpointEverySteps steps). */
  readonly checkpoints: boolean;
  /** Stop after this many steps of this invocation, with a checkpoint of that step (Note [a checkpoint at every stop]). */
  readonly maxSteps?: number;
  /**
   * Asked before every step: a reason (a signal's name, e.g. `SIGINT`) stops the run at that step boundary,
   * with a checkpoint of it (Note [a checkpoint at every stop]). Undefined: go on.
   */
  readonly stopRequested?: () => string | undefined;
  /** Evaluate the test split (with its confusion matrix) when training ends. */
  readonly evaluateTest: boolean;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Milliseconds clock (tests pass a fake one). */
  readonly now?: () => number;
  /**
   * Stop the run after this many CONSECUTIVE steps skipped by the NaN/Inf guard, with the driver's
   * skipLimitError (default DEFAULT_MAX_SKIPPED; 0 = never stop).
   */
  readonly maxSkipped?: number;
}

/** Consecutive skipped steps that stop a run unless --max-skipped says otherwise. */
export const DEFAULT_MAX_SKIPPED = 5;

export interface TrainingOutcome {
  readonly stepsTaken: number;
  /** Training samples of this invocation and the wall seconds its steps took (for samples/s). */
  readonly trainSamples: number;
  readonly trainSeconds: number;
  /** Early stopping ended training before training.epochs. */
  readonly stoppedEarly: boolean;
  /** Every epoch is done (false when --max-steps stopped the run first). */
  readonly completed: boolean;
  readonly test: Evaluation | undefined;
  /** Every step of the run (this invocation and the ones it resumed) whose update the NaN/Inf guard skipped. */
  readonly skippedSteps: readonly SkippedStep[];
  /** Set when the run stopped before its end: by --max-steps or a stop request. */
  readonly stop: TrainingStop | undefined;
}

/** Where and why a run stopped before its end, and the checkpoint written there (undefined: no checkpoints). */
export interface TrainingStop {
  /** `--max-steps`, or the reason `stopRequested` gave (a signal's name). */
  readonly reason: string;
  /** True when `stopRequested` stopped it (a signal), false for --max-steps. */
  readonly requested: boolean;
  readonly step: number;
  readonly checkpoint: string | undefined;
}

/** The stop reason recorded for --max-steps. */
export const MAX_STEPS_STOP = '--max-steps';

/**
 * The training loop — the only one: `Model.fit` runs it with the local driver, the coordinator with the
 * cluster driver. It walks epochs and batches from `state.position`, takes the learning rate of each step
 * from the schedule, accumulates the epoch's sums, and at each epoch end evaluates the validation split,
 * appends the epoch record, applies early stopping (snapshot and restore of the best weights), and
 * checkpoints; at the end it evaluates the test split. `state` is updated in place after every step, so
 * a checkpoint written at any point resumes exactly here.
 *
 * Note [checkpoint cadence]: a mid-epoch checkpoint follows every checkpointEverySteps-th step (counted
 * from 1) except an epoch's last, because the epoch end writes one anyway, after its record and early
 * stopping are settled.
 *
 * Note [NaN/Inf guard]: a driver reports a step as skipped when the gradient SUM of its global batch holds a
 * NaN or ±Infinity (in a cluster every replica decides this alone, from the bitwise-identical all-reduced
 * vector, so all of them skip or none does). A skipped step changed nothing — parameters, optimizer state
 * and its step counter (Adam's bias correction), BatchNorm running statistics — but it consumed its batch
 * and its step number: the next step takes the next batch with seed step + 1, exactly as in a run where
 * the step was applied, so the data order and dropout/noise draws do not shift. Its loss is not added to
 * the epoch's sums. After maxSkipped consecutive skips the run stops with the driver's skipLimitError,
 * before any further checkpoint.
 *
 * Note [the loop announces its next steps]: to a driver that starts steps early (`stepsAhead` > 0, the cluster
 * driver) the loop names with each step the steps that follow it whatever its outcome — the next batches of the
 * same epoch, up to `stepsAhead` of them, as long as no mid-epoch checkpoint, epoch end or end of run comes
 * between — so that a driver can start them early (the cluster driver sends their commands ahead, Note [steps
 * are sent ahead] in coordinator/src/cluster-step-driver.ts). An announced step is a promise: the loop runs it
 * even if a stop is requested meanwhile (the stop then takes effect after the announced steps, still at a step
 * boundary), and announces no further step once a stop is requested. Only a failure (the skip limit, a diverged
 * replica) ends the run before them.
 *
 * Note [a checkpoint at every stop]: a run that stops before its end — `--max-steps` reached, or a stop
 * requested (SIGINT/SIGTERM to `train` or to the coordinator) — stops at a step boundary and, when it
 * checkpoints at all, writes a checkpoint of that very step, marked with the reason (`stoppedBy`), even when
 * an epoch-end checkpoint of the same step was just written (the same tensors; the mark tells a resume that it
 * repeats no step). The decision lives here, once, for both drivers. A requested stop skips the test
 * evaluation (the user asked to stop); --max-steps keeps it.
 */
export async function runTrainingLoop(driver: StepDriver, state: TrainingState, o: TrainingLoopOptions): Promise<TrainingOutcome> {
  const now = o.now ?? Date.now;
  const t = o.config.training;
  const file = o.config.file === '(inline)' ? {} : { file: o.config.file };
  const batches = batchesPerEpoch(driver.trainCount, t.batchSize, t.dropLast);
  if (batches === 0) throw new DataError(o.config.file, `the training set has ${driver.trainCount} samples, fewer than one batch of ${t.batchSize} with training.dropLast`, { hint: 'lower training.batchSize or set training.dropLast to false' });
  const learningRate = learningRateOfRun(o.config, batches);
  const stopper = t.earlyStopping ? new EarlyStopping(t.earlyStopping, state.earlyStopping ?? undefined) : undefined;
  if (stopper && driver.splitCount('validation') === 0) {
    throw new ConfigError('training.earlyStopping', `monitors ${stopper.config.monitor} but there is no validation data`, { ...file, hint: 'set training.validationSplit' });
  }
  const maxSteps = o.maxSteps ?? Infinity;
  const maxSkipped = o.maxSkipped ?? DEFAULT_MAX_SKIPPED;
  const started = now();
  let lastYield = started;
  let stepsTaken = 0;
  let trainSamples = 0;
  let trainSeconds = 0;
  let stoppedEarly = false;
  let stopReason: string | undefined;
  const stopNow = (): boolean => (stopReason ??= o.stopRequested?.()) !== undefined;

  while (state.position.epoch < t.epochs) {
    const epoch = state.position.epoch;
    const epochStart = now() - state.epochInProgress.seconds * 1000;
    const secondsBefore = state.epochInProgress.seconds;
    const every = t.checkpointEverySteps;
    /** Step `step` on batch `b`, taken as the `taken`-th step of this invocation (counted from 0). */
    const plan = (step: number, b: number, taken: number): PlannedStep => {
      const [globalStart, globalEnd] = globalBatchRange(b, driver.trainCount, t.batchSize);
      const lastOfRun = (epoch === t.epochs - 1 && b === batches - 1) || taken + 1 === maxSteps;
      return { step, epoch, batchIndex: b, globalStart, globalEnd, lr: learningRate(step), lastOfRun };
    };
    /** Whether the step after `p` follows it unconditionally: the same epoch, no checkpoint between (Note [the loop announces its next steps]). */
    const followed = (p: PlannedStep): boolean => !p.lastOfRun && p.batchIndex + 1 < batches && !(o.checkpoints && every !== undefined && (p.step + 1) % every === 0);
    /** Steps announced to the driver and not yet taken, in order (Note [the loop announces its next steps]). */
    const announced: PlannedStep[] = [];
    for (let b = state.position.batch; b < batches && (announced.length > 0 || (stepsTaken < maxSteps && !stopNow())); b++) {
      const planned = announced.shift() ?? plan(state.step, b, stepsTaken);
      // Asked at every step: a cluster driver's window follows its generation, which may change mid-epoch.
      const ahead = driver.stepsAhead ?? 0;
      for (let last = announced.at(-1) ?? planned; announced.length < ahead && followed(last) && !stopNow(); ) {
        last = plan(last.step + 1, last.batchIndex + 1, stepsTaken + 1 + announced.length);
        announced.push(last);
      }
      const result = await driver.step(planned, announced.slice());
      if (now() - lastYield >= YIELD_EVERY_MS) {
        // Note [yielding]: a driver that computes on this thread (the reference backend) never gives the event
        // loop a turn otherwise, and timers, sockets (a dashboard, metrics, a signal's handler) would wait for
        // the whole run. One turn per ~50 ms costs nothing measurable.
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = now();
      }
      if (result.skipped) state.skipped.push({ step: state.step, ranks: [...result.nonFiniteRanks] });
      else accumulate(state, result);
      state.step++;
      stepsTaken++;
      trainSamples += result.stats.count;
      state.position = { epoch, batch: b + 1 };
      state.epochInProgress.seconds = (now() - epochStart) / 1000;
      if (o.onProgress) {
        const elapsed = (now() - started) / 1000;
        const remaining = (t.epochs - epoch) * batches - (b + 1);
        const e = state.epochInProgress;
        o.onProgress({
          type: 'batch', epoch, epochs: t.epochs, batch: b + 1, batches,
          loss: e.lossSum / Math.max(1, e.count),
          samplesPerSec: e.count / Math.max(1e-9, e.seconds),
          etaSeconds: (elapsed / stepsTaken) * remaining,
          step: state.step - 1,
          samples: result.stats.count,
        });
      }
      if (result.skipped) {
        const run = consecutiveSkips(state);
        const last = run[run.length - 1]!;
        o.onProgress?.({ type: 'skipped', step: last.step, ranks: last.ranks, consecutive: run.length });
        if (maxSkipped > 0 && run.length >= maxSkipped) throw driver.skipLimitError(run);
      }
      if (o.checkpoints && every !== undefined && state.step % every === 0 && b + 1 < batches) await checkpoint(driver, state, o);
    }
    trainSeconds += state.epochInProgress.seconds - secondsBefore;
    if (state.position.batch < batches) break; // --max-steps or a stop request: resumable mid-epoch (checkpoint below)

    const validation = driver.splitCount('validation') > 0 ? await driver.evaluate('validation', { confusion: false }) : undefined;
    const record = epochRecord(state, epoch, validation, learningRate(Math.max(0, state.step - 1)));
    state.history.push(record);
    let keepBest = false;
    if (stopper) {
      const monitored = stopper.config.monitor === 'valAccuracy' ? record.valAccuracy : record.valLoss;
      if (monitored === null) throw new ConfigError('training.earlyStopping.monitor', 'is valAccuracy but the model reports no accuracy', { ...file, value: stopper.config.monitor, hint: 'monitor valLoss' });
      const { improved, stop } = stopper.observe(epoch, monitored);
      keepBest = improved && stopper.config.restoreBestWeights;
      state.earlyStopping = stopper.state;
      stoppedEarly = stop;
    }
    state.position = { epoch: stoppedEarly ? t.epochs : epoch + 1, batch: 0 };
    state.epochInProgress = emptyEpochSums();
    const finished = state.position.epoch >= t.epochs;
    const best = state.earlyStopping;
    const restoreBest = finished && stopper?.config.restoreBestWeights === true && best !== null && best.bestEpoch >= 0 && best.bestEpoch + 1 !== state.history.length;
    const elapsed = (now() - started) / 1000;
    o.onProgress?.({ type: 'epoch', record, epochs: t.epochs, etaSeconds: stoppedEarly ? 0 : (elapsed / Math.max(1, state.history.length)) * (t.epochs - epoch - 1), stoppedEarly });
    await driver.endEpoch({ epoch, keepBest, restoreBest });
    if (o.checkpoints) await checkpoint(driver, state, o);
  }

  const completed = state.position.epoch >= t.epochs;
  let stop: TrainingStop | undefined;
  if (!completed) {
    const reason = stopReason ?? MAX_STEPS_STOP;
    const checkpoint = o.checkpoints ? await writeCheckpoint(driver, state, o, reason) : undefined;
    stop = { reason, requested: stopReason !== undefined, step: state.step, checkpoint };
  }
  const test = o.evaluateTest && stopReason === undefined && driver.splitCount('test') > 0 ? await driver.evaluate('test', { confusion: true }) : undefined;
  return { stepsTaken, trainSamples, trainSeconds, stoppedEarly, completed, test, skippedSteps: state.skipped.map((k) => ({ step: k.step, ranks: [...k.ranks] })), stop };
}

/**
 * The learning rate of each optimizer step of this run: the schedule over the base rate, its lengths in
 * epochs or `"run"` resolved from the run as planned (training.epochs × batches per epoch), so that
 * `--epochs` keeps a schedule stated over the run meaningful.
 */
export function learningRateOfRun(config: RunConfig, batchesPerEpoch: number): (step: number) => number {
  const file = config.file === '(inline)' ? {} : { file: config.file };
  const schedule = resolveSchedule(scheduleFromSpec(config.schedule, { path: 'schedule', ...file }), { stepsPerEpoch: batchesPerEpoch, totalSteps: config.training.epochs * batchesPerEpoch });
  const baseLr = optimizerLearningRate(config.optimizer);
  return (step) => learningRateAt(schedule, baseLr, step);
}

/** Adds one global batch's sums to the epoch in progress; the penalty counts once per sample. */
function accumulate(state: TrainingState, { stats, penalty }: StepResult): void {
  const e = state.epochInProgress;
  e.lossSum += stats.lossSum + penalty * stats.count;
  e.count += stats.count;
  if (stats.correct !== undefined) e.correct = (e.correct ?? 0) + stats.correct;
  for (const [k, v] of Object.entries(stats.extras)) e.extras[k] = (e.extras[k] ?? 0) + v;
}

function epochRecord(state: TrainingState, epoch: number, validation: Evaluation | undefined, learningRate: number): EpochRecord {
  const e = state.epochInProgress;
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(e.extras)) extras[k] = v / Math.max(1, e.count);
  return {
    epoch: epoch + 1,
    trainLoss: e.lossSum / Math.max(1, e.count),
    trainAccuracy: e.correct === null ? null : e.correct / Math.max(1, e.count),
    valLoss: validation ? validation.loss : null,
    valAccuracy: validation ? validation.accuracy : null,
    seconds: e.seconds,
    learningRate,
    samplesPerSec: e.count / Math.max(1e-9, e.seconds),
    extras,
  };
}

async function checkpoint(driver: StepDriver, state: TrainingState, o: TrainingLoopOptions): Promise<void> {
  await writeCheckpoint(driver, state, o, undefined);
}

async function writeCheckpoint(driver: StepDriver, state: TrainingState, o: TrainingLoopOptions, stoppedBy: string | undefined): Promise<string> {
  const path = await driver.checkpoint(state, stoppedBy === undefined ? {} : { stoppedBy });
  o.onProgress?.({ type: 'checkpoint', path, step: state.step });
  return path;
}
