import {
  anyNumber,
  child,
  failAt,
  int,
  isPlainObject,
  numberOrNull,
  numberRecord,
  object,
  rejectUnknownKeys,
  requireNumber,
  type JsonObject,
  type ValidationScope,
} from '../config/validate.js';
import type { EarlyStoppingState } from './early-stopping.js';
import type { EpochRecord } from './history.js';

/** Where training resumes: the next epoch and the next batch within it. */
export interface TrainingPosition {
  epoch: number;
  batch: number;
}

/** Running sums of the epoch in progress, so a run resumed mid-epoch reports the same epoch loss. */
export interface EpochSums {
  lossSum: number;
  count: number;
  /** Correctly classified samples; null for models that do not classify. */
  correct: number | null;
  extras: Record<string, number>;
  /** Wall seconds spent on this epoch's steps so far. */
  seconds: number;
}

/** A step whose update the NaN/Inf guard skipped, and the ranks whose local gradient was not finite. */
export interface SkippedStep {
  readonly step: number;
  readonly ranks: readonly number[];
}

/**
 * Everything the training loop decides and remembers, as plain data: the optimizer step count, the
 * position, the history, early stopping and the epoch in progress. It is what a checkpoint stores beside
 * the tensors and what the coordinator sends rank 0 to checkpoint, so one type and one validator
 * (`parseTrainingState`) serve both. Note [PRNG state]: every random draw after initialisation derives
 * from (seed, epoch) or (seed, step, micro-batch), so the seed plus `step` are the complete generator
 * state.
 */
export interface TrainingState {
  /** Optimizer steps taken. */
  step: number;
  position: TrainingPosition;
  history: EpochRecord[];
  earlyStopping: EarlyStoppingState | null;
  epochInProgress: EpochSums;
  /**
   * Every step the NaN/Inf guard skipped, in order. Kept in the state (and so in checkpoints) so that a
   * resumed run reports the skips of the whole run and counts consecutive skips across the resume exactly
   * as the uninterrupted run does. Absent in checkpoints written before the guard: read as none.
   */
  skipped: SkippedStep[];
}

export function emptyEpochSums(): EpochSums {
  return { lossSum: 0, count: 0, correct: null, extras: {}, seconds: 0 };
}

export function initialTrainingState(): TrainingState {
  return { step: 0, position: { epoch: 0, batch: 0 }, history: [], earlyStopping: null, epochInProgress: emptyEpochSums(), skipped: [] };
}

/** A deep copy (the loop mutates its state; what is sent or written must not change afterwards). */
export function copyTrainingState(s: TrainingState): TrainingState {
  return {
    step: s.step,
    position: { ...s.position },
    history: s.history.map((h) => ({ ...h, extras: { ...h.extras } })),
    earlyStopping: s.earlyStopping === null ? null : { ...s.earlyStopping },
    epochInProgress: { ...s.epochInProgress, extras: { ...s.epochInProgress.extras } },
    skipped: s.skipped.map((k) => ({ step: k.step, ranks: [...k.ranks] })),
  };
}

/** The most epoch records a state may hold (a bound for data that arrives over the network or from a file). */
export const MAX_HISTORY = 100_000;
const MAX_U32 = 2 ** 32 - 1;

const STATE_KEYS = ['step', 'position', 'history', 'earlyStopping', 'epochInProgress', 'skipped'] as const;
/** The most ranks a skipped step may name (a bound for data from the network or a file). */
const MAX_RANKS = 65_536;
const RECORD_KEYS = ['epoch', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'seconds', 'learningRate', 'samplesPerSec', 'extras'] as const;

/**
 * Validates a training state read from a checkpoint's metadata or a wire message; a bad field raises the
 * scope's error (a CheckpointError naming the file, a protocol error naming the peer) with the field's
 * path. A wire `message` holds only the state's keys; a checkpoint's metadata (`json`) holds them beside
 * others, and writes a diverged run's NaN or Infinity loss as null, which reads back as NaN.
 */
export function parseTrainingState(o: JsonObject, scope: ValidationScope, source: 'message' | 'json'): TrainingState {
  const json = source === 'json';
  if (!json) rejectUnknownKeys(o, STATE_KEYS, scope);
  const position = object(o, 'position', scope);
  const ps = child(scope, 'position');
  rejectUnknownKeys(position, ['epoch', 'batch'], ps);
  const history = o['history'];
  if (!Array.isArray(history) || history.length > MAX_HISTORY) failAt(scope, 'history', `must be an array of at most ${MAX_HISTORY} epoch records`);
  if (!('earlyStopping' in o)) failAt(scope, 'earlyStopping', 'is required (null when unused)');
  let earlyStopping: EarlyStoppingState | null = null;
  if (o['earlyStopping'] !== null) {
    const e = object(o, 'earlyStopping', scope);
    const es = child(scope, 'earlyStopping');
    rejectUnknownKeys(e, ['best', 'bestEpoch', 'wait'], es);
    earlyStopping = { best: numberOrNull(e, 'best', es), bestEpoch: int(e, 'bestEpoch', es, { min: -1, max: MAX_U32 }), wait: int(e, 'wait', es, { min: 0, max: MAX_U32 }) };
  }
  const e = object(o, 'epochInProgress', scope);
  const es = child(scope, 'epochInProgress');
  rejectUnknownKeys(e, ['lossSum', 'count', 'correct', 'extras', 'seconds'], es);
  const skipped = o['skipped'] ?? [];
  if (!Array.isArray(skipped) || skipped.length > MAX_U32) failAt(scope, 'skipped', 'must be an array of skipped steps', o['skipped']);
  return {
    step: int(o, 'step', scope, { min: 0, max: MAX_U32 }),
    position: { epoch: int(position, 'epoch', ps, { min: 0, max: MAX_U32 }), batch: int(position, 'batch', ps, { min: 0, max: MAX_U32 }) },
    history: history.map((h, i) => epochRecord(h, child(scope, `history[${i}]`), json)),
    earlyStopping,
    epochInProgress: {
      lossSum: anyNumber(e, 'lossSum', es, json),
      count: int(e, 'count', es, { min: 0 }),
      correct: e['correct'] === null ? null : int(e, 'correct', es, { min: 0 }),
      extras: numberRecord(e, 'extras', es, json),
      seconds: requireNumber(e, 'seconds', es, { min: 0 }),
    },
    skipped: skipped.map((k, i) => skippedStep(k, child(scope, `skipped[${i}]`))),
  };
}

function skippedStep(v: unknown, scope: ValidationScope): SkippedStep {
  if (!isPlainObject(v)) failAt({ ...scope, path: '' }, scope.path, 'must be a map', v);
  rejectUnknownKeys(v, ['step', 'ranks'], scope);
  const ranks = v['ranks'];
  if (!Array.isArray(ranks) || ranks.length > MAX_RANKS) failAt(scope, 'ranks', `must be an array of at most ${MAX_RANKS} ranks`, ranks);
  return { step: int(v, 'step', scope, { min: 0, max: MAX_U32 }), ranks: ranks.map((_, i) => int(ranks as unknown as JsonObject, String(i), child(scope, 'ranks'), { min: 0, max: MAX_RANKS - 1 })) };
}

function epochRecord(v: unknown, scope: ValidationScope, json: boolean): EpochRecord {
  if (!isPlainObject(v)) failAt({ ...scope, path: '' }, scope.path, 'must be a map', v);
  rejectUnknownKeys(v, RECORD_KEYS, scope);
  return {
    epoch: int(v, 'epoch', scope, { min: 1, max: MAX_U32 }),
    trainLoss: anyNumber(v, 'trainLoss', scope, json),
    trainAccuracy: fractionOrNull(v, 'trainAccuracy', scope),
    valLoss: numberOrNull(v, 'valLoss', scope),
    valAccuracy: fractionOrNull(v, 'valAccuracy', scope),
    seconds: requireNumber(v, 'seconds', scope, { min: 0 }),
    learningRate: anyNumber(v, 'learningRate', scope, json),
    samplesPerSec: requireNumber(v, 'samplesPerSec', scope, { min: 0 }),
    extras: numberRecord(v, 'extras', scope, json),
  };
}

function fractionOrNull(obj: JsonObject, key: string, scope: ValidationScope): number | null {
  const v = numberOrNull(obj, key, scope);
  if (v !== null && !(v >= 0 && v <= 1)) failAt(scope, key, 'must be in 0..1 or null', v);
  return v;
}
