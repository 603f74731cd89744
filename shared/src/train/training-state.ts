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
}

export function emptyEpochSums(): EpochSums {
  return { lossSum: 0, count: 0, correct: null, extras: {}, seconds: 0 };
}

export function initialTrainingState(): TrainingState {
  return { step: 0, position: { epoch: 0, batch: 0 }, history: [], earlyStopping: null, epochInProgress: emptyEpochSums() };
}

/** A deep copy (the loop mutates its state; what is sent or written must not change afterwards). */
export function copyTrainingState(s: TrainingState): TrainingState {
  return {
    step: s.step,
    position: { ...s.position },
    history: s.history.map((h) => ({ ...h, extras: { ...h.extras } })),
    earlyStopping: s.earlyStopping === null ? null : { ...s.earlyStopping },
    epochInProgress: { ...s.epochInProgress, extras: { ...s.epochInProgress.extras } },
  };
}

/** Reports the first invalid field (its dotted path below the state, e.g. `history[2].trainLoss`) and never returns. */
export type StateFieldError = (field: string, message: string, value?: unknown) => never;

/** The most epoch records a state may hold (a bound for data that arrives over the network or from a file). */
export const MAX_HISTORY = 100_000;
const MAX_EXTRAS = 64;
const MAX_U32 = 2 ** 32 - 1;

const STATE_KEYS = ['step', 'position', 'history', 'earlyStopping', 'epochInProgress'] as const;
const RECORD_KEYS = ['epoch', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'seconds', 'learningRate', 'samplesPerSec', 'extras'] as const;

/**
 * Validates a training state read from a checkpoint's metadata or a wire message. `strict` rejects keys
 * other than the state's own (a wire message); a checkpoint's metadata holds the state's keys beside
 * others and is read with `strict: false`. Losses may be any number (a diverged run's NaN or Infinity)
 * or null, which is how JSON writes those; null reads back as NaN.
 */
export function parseTrainingState(json: unknown, fail: StateFieldError, options: { strict: boolean }): TrainingState {
  const r = new FieldReader(fail);
  const o = r.object(json, '');
  if (options.strict) r.onlyKeys(o, STATE_KEYS, '');
  const position = r.object(o['position'], 'position');
  r.onlyKeys(position, ['epoch', 'batch'], 'position');
  const history = o['history'];
  if (!Array.isArray(history) || history.length > MAX_HISTORY) fail('history', `must be an array of at most ${MAX_HISTORY} epoch records`, history);
  let earlyStopping: EarlyStoppingState | null = null;
  if (!('earlyStopping' in o)) fail('earlyStopping', 'is required (null when unused)');
  if (o['earlyStopping'] !== null) {
    const e = r.object(o['earlyStopping'], 'earlyStopping');
    r.onlyKeys(e, ['best', 'bestEpoch', 'wait'], 'earlyStopping');
    earlyStopping = { best: r.numberOrNull(e, 'best', 'earlyStopping'), bestEpoch: r.int(e, 'bestEpoch', 'earlyStopping', -1), wait: r.int(e, 'wait', 'earlyStopping', 0) };
  }
  const e = r.object(o['epochInProgress'], 'epochInProgress');
  r.onlyKeys(e, ['lossSum', 'count', 'correct', 'extras', 'seconds'], 'epochInProgress');
  return {
    step: r.int(o, 'step', '', 0),
    position: { epoch: r.int(position, 'epoch', 'position', 0), batch: r.int(position, 'batch', 'position', 0) },
    history: history.map((h, i) => parseEpochRecord(r, h, `history[${i}]`)),
    earlyStopping,
    epochInProgress: {
      lossSum: r.loss(e, 'lossSum', 'epochInProgress'),
      count: r.int(e, 'count', 'epochInProgress', 0),
      correct: e['correct'] === null ? null : r.int(e, 'correct', 'epochInProgress', 0),
      extras: r.numberRecord(e, 'extras', 'epochInProgress'),
      seconds: r.nonNegative(e, 'seconds', 'epochInProgress'),
    },
  };
}

function parseEpochRecord(r: FieldReader, json: unknown, at: string): EpochRecord {
  const h = r.object(json, at);
  r.onlyKeys(h, RECORD_KEYS, at);
  return {
    epoch: r.int(h, 'epoch', at, 1),
    trainLoss: r.loss(h, 'trainLoss', at),
    trainAccuracy: r.fractionOrNull(h, 'trainAccuracy', at),
    valLoss: r.numberOrNull(h, 'valLoss', at),
    valAccuracy: r.fractionOrNull(h, 'valAccuracy', at),
    seconds: r.nonNegative(h, 'seconds', at),
    learningRate: r.loss(h, 'learningRate', at),
    samplesPerSec: r.nonNegative(h, 'samplesPerSec', at),
    extras: r.numberRecord(h, 'extras', at),
  };
}

type Obj = Record<string, unknown>;

/** Typed field reads that report the dotted path of the first bad field. */
class FieldReader {
  constructor(readonly fail: StateFieldError) {}

  path(at: string, key: string): string {
    return at === '' ? key : `${at}.${key}`;
  }

  object(v: unknown, at: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(at || '(state)', 'must be an object', v);
    return v as Obj;
  }

  onlyKeys(o: Obj, allowed: readonly string[], at: string): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(this.path(at, k), `is not a known field (allowed: ${allowed.join(', ')})`);
  }

  present(o: Obj, key: string, at: string): unknown {
    if (!(key in o)) this.fail(this.path(at, key), 'is required');
    return o[key];
  }

  int(o: Obj, key: string, at: string, min: number): number {
    const v = this.present(o, key, at);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_U32) this.fail(this.path(at, key), `must be an integer in ${min}..${MAX_U32}`, v);
    return v;
  }

  nonNegative(o: Obj, key: string, at: string): number {
    const v = this.present(o, key, at);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(this.path(at, key), 'must be a finite number ≥ 0', v);
    return v;
  }

  /** Any number, NaN and ±Infinity included (a diverged loss); null (how JSON writes them) reads as NaN. */
  loss(o: Obj, key: string, at: string): number {
    const v = this.present(o, key, at);
    if (v === null) return Number.NaN;
    if (typeof v !== 'number') this.fail(this.path(at, key), 'must be a number', v);
    return v;
  }

  numberOrNull(o: Obj, key: string, at: string): number | null {
    const v = this.present(o, key, at);
    if (v === null) return null;
    if (typeof v !== 'number') this.fail(this.path(at, key), 'must be a number or null', v);
    return v;
  }

  fractionOrNull(o: Obj, key: string, at: string): number | null {
    const v = this.numberOrNull(o, key, at);
    if (v !== null && !(v >= 0 && v <= 1)) this.fail(this.path(at, key), 'must be in 0..1 or null', v);
    return v;
  }

  numberRecord(o: Obj, key: string, at: string): Record<string, number> {
    const rec = this.object(this.present(o, key, at), this.path(at, key));
    const entries = Object.entries(rec);
    if (entries.length > MAX_EXTRAS) this.fail(this.path(at, key), `must hold at most ${MAX_EXTRAS} entries`);
    const out: Record<string, number> = {};
    for (const [k, v] of entries) {
      if (v !== null && typeof v !== 'number') this.fail(this.path(this.path(at, key), k), 'must be a number', v);
      out[k] = v === null ? Number.NaN : (v as number);
    }
    return out;
  }
}
