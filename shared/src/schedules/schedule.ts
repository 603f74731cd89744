/**
 * A learning-rate schedule: an optional linear warm-up followed by one decay curve.
 *
 * Step convention: `step` is the number of optimizer steps already completed, so the first update
 * is computed with step 0. Warm-up is composable with every curve: during the first
 * `warmupSteps` steps the lr ramps linearly up to the base lr, and the curve then starts from its
 * own step 0 (it sees `step − warmupSteps`), so a cosine decay still runs its full length.
 */
export type Decay =
  | { readonly type: 'constant' }
  /** lr · gamma^⌊step / everySteps⌋ or lr · gamma^⌊epoch / everyEpochs⌋. */
  | { readonly type: 'step'; readonly gamma: number; readonly every: number; readonly unit: 'steps' | 'epochs' }
  /** lr · decayRate^(step / decaySteps), the exponent floored when `staircase` (Keras ExponentialDecay). */
  | { readonly type: 'exponential'; readonly decayRate: number; readonly decaySteps: number; readonly staircase: boolean }
  /** Cosine from lr down to alpha·lr over decaySteps, then flat at alpha·lr (Keras CosineDecay). */
  | { readonly type: 'cosine'; readonly decaySteps: number; readonly alpha: number };

export interface Schedule {
  /** 0 disables warm-up. */
  readonly warmupSteps: number;
  readonly decay: Decay;
}

// The schedule module's functions, re-exported so callers import one place. (The files below
// import only types from here, so there is no evaluation cycle.)
export { learningRateAt } from './learning-rate.js';
export { scheduleFromSpec, SCHEDULE_TYPES, CONSTANT_SCHEDULE } from './from-spec.js';
