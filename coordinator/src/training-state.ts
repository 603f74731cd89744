import type { EarlyStoppingState, EpochRecord, Evaluation, JsonObject, TrainingStateBody } from '@gradmesh/shared/internal';
import type { StepStats } from './aggregate.js';

interface EpochSums {
  lossSum: number;
  count: number;
  correct: number | undefined;
  extras: Record<string, number>;
  seconds: number;
}

/**
 * The coordinator's copy of Model's training bookkeeping (shared/src/train/model.ts): optimizer step,
 * position, history, early-stopping state and the running sums of the epoch in progress. The coordinator
 * owns these decisions for the whole cluster; rank 0 copies them into its model when it writes a checkpoint
 * (`checkpoint` message), so a checkpoint of a cluster run is the same file a single process would write.
 */
export class TrainingState {
  step = 0;
  position = { epoch: 0, batch: 0 };
  history: EpochRecord[] = [];
  earlyStopping: EarlyStoppingState | undefined;
  epoch: EpochSums = { lossSum: 0, count: 0, correct: undefined, extras: {}, seconds: 0 };

  /** The state stored in a training checkpoint's metadata (see train/checkpointing.ts). */
  static fromCheckpoint(meta: JsonObject): TrainingState {
    const m = meta as unknown as {
      step: number;
      position: { epoch: number; batch: number };
      history: EpochRecord[];
      earlyStopping: EarlyStoppingState | null;
      epochInProgress: { lossSum: number; count: number; correct: number | null; extras: Record<string, number>; seconds: number };
    };
    const s = new TrainingState();
    s.step = m.step;
    s.position = { ...m.position };
    s.history = m.history.map((h) => ({ ...h }));
    s.earlyStopping = m.earlyStopping ?? undefined;
    const e = m.epochInProgress;
    s.epoch = { lossSum: e.lossSum, count: e.count, correct: e.correct ?? undefined, extras: { ...e.extras }, seconds: e.seconds };
    return s;
  }

  /** Adds one global batch's sums, like Model's #accumulate (the penalty counts once per sample). */
  accumulate(stats: StepStats): void {
    const e = this.epoch;
    e.lossSum += stats.lossSum + stats.penalty * stats.count;
    e.count += stats.count;
    if (stats.correct !== undefined) e.correct = (e.correct ?? 0) + stats.correct;
    for (const [k, v] of Object.entries(stats.extras)) e.extras[k] = (e.extras[k] ?? 0) + v;
  }

  /** The epoch's record, built exactly like Model's #finishEpoch. */
  epochRecord(epoch: number, validation: Evaluation | undefined, learningRate: number): EpochRecord {
    const e = this.epoch;
    const extras: Record<string, number> = {};
    for (const [k, v] of Object.entries(e.extras)) extras[k] = v / Math.max(1, e.count);
    return {
      epoch: epoch + 1,
      trainLoss: e.lossSum / Math.max(1, e.count),
      trainAccuracy: e.correct === undefined ? null : e.correct / Math.max(1, e.count),
      valLoss: validation ? validation.loss : null,
      valAccuracy: validation ? validation.accuracy : null,
      seconds: e.seconds,
      learningRate,
      samplesPerSec: e.count / Math.max(1e-9, e.seconds),
      extras,
    };
  }

  resetEpoch(): void {
    this.epoch = { lossSum: 0, count: 0, correct: undefined, extras: {}, seconds: 0 };
  }

  toMessage(): TrainingStateBody {
    const e = this.epoch;
    return {
      step: this.step,
      position: { ...this.position },
      history: this.history.map((h) => ({ ...h })),
      earlyStopping: this.earlyStopping === undefined ? null : { ...this.earlyStopping },
      epochInProgress: { lossSum: e.lossSum, count: e.count, correct: e.correct ?? null, extras: { ...e.extras }, seconds: e.seconds },
    };
  }
}
