import { ConfigError } from '../errors.js';
import type { Schedule } from './spec.js';

/** What a schedule needs to know about the run to turn epochs and "run" into steps. */
export interface RunLength {
  readonly stepsPerEpoch: number;
  /** Optimizer steps of the whole run (epochs × steps per epoch). */
  readonly totalSteps: number;
}

/** A decay curve with every length in optimizer steps. */
export type ResolvedDecay =
  | { readonly type: 'constant' }
  /** lr · gamma^⌊step / everySteps⌋. */
  | { readonly type: 'step'; readonly gamma: number; readonly everySteps: number }
  /** lr · decayRate^(step / decaySteps), the exponent floored when `staircase` (Keras ExponentialDecay). */
  | { readonly type: 'exponential'; readonly decayRate: number; readonly decaySteps: number; readonly staircase: boolean }
  /** Cosine from lr down to alpha·lr over decaySteps, then flat at alpha·lr (Keras CosineDecay). */
  | { readonly type: 'cosine'; readonly decaySteps: number; readonly alpha: number };

export interface ResolvedSchedule {
  /** 0 disables warm-up. */
  readonly warmupSteps: number;
  readonly decay: ResolvedDecay;
}

/**
 * The schedule with every length in steps, for a run of the given length. Pure: the loop resolves
 * once per run, so a resumed run or one with another `--epochs` gets the curve its own length implies.
 *
 * `"run"` spans what follows warm-up (the curve starts after it), and at least one step so that a
 * run shorter than its warm-up still has a defined curve.
 */
export function resolveSchedule(schedule: Schedule, run: RunLength): ResolvedSchedule {
  const { warmupSteps } = schedule;
  const epochs = (count: number, field: string): number => {
    if (!(Number.isInteger(run.stepsPerEpoch) && run.stepsPerEpoch >= 1)) {
      throw new ConfigError(`schedule.${field}`, `is in epochs, which needs at least one step per epoch`, { value: count, hint: `the run has ${run.stepsPerEpoch} steps per epoch` });
    }
    return count * run.stepsPerEpoch;
  };
  switch (schedule.type) {
    case 'constant':
      return { warmupSteps, decay: { type: 'constant' } };
    case 'step': {
      const everySteps = schedule.everySteps ?? epochs(schedule.everyEpochs!, 'everyEpochs');
      return { warmupSteps, decay: { type: 'step', gamma: schedule.gamma, everySteps } };
    }
    case 'exponential':
    case 'cosine': {
      const { decaySteps: steps, decayEpochs } = schedule;
      const decaySteps =
        steps === 'run' ? Math.max(1, run.totalSteps - warmupSteps) : (steps ?? epochs(decayEpochs!, 'decayEpochs'));
      return schedule.type === 'cosine'
        ? { warmupSteps, decay: { type: 'cosine', decaySteps, alpha: schedule.alpha } }
        : { warmupSteps, decay: { type: 'exponential', decayRate: schedule.decayRate, decaySteps, staircase: schedule.staircase } };
    }
  }
}
