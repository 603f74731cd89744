/**
 * A learning-rate schedule: an optional linear warm-up followed by one decay curve.
 *
 * Step convention: `step` is the number of optimizer steps already completed, so the first update
 * is computed with step 0. Warm-up is composable with every curve: during the first
 * `warmupSteps` steps the lr ramps linearly up to the base lr, and the curve then starts from its
 * own step 0 (it sees `step − warmupSteps`), so a cosine decay still runs its full length.
 *
 * A spec is validated once (`scheduleFromSpec`), resolved into steps once per run
 * (`resolveSchedule`), then evaluated per step (`learningRateAt`).
 */
export type { Schedule } from './spec.js';
export type { ResolvedDecay, ResolvedSchedule, RunLength } from './resolve.js';
export { scheduleSpec } from './spec.js';
export { resolveSchedule } from './resolve.js';
export { learningRateAt } from './learning-rate.js';
export { scheduleFromSpec, SCHEDULE_TYPES, CONSTANT_SCHEDULE } from './from-spec.js';
