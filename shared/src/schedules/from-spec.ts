import type { Json, ValidationScope } from '../config/validate.js';
import { parseWithSchema } from '../config/schema-errors.js';
import { scheduleSpec, type Schedule } from './spec.js';

export const SCHEDULE_TYPES = ['constant', 'step', 'exponential', 'cosine'] as const;

export const CONSTANT_SCHEDULE: Schedule = { type: 'constant', warmupSteps: 0 };

/** Validates a schedule spec; an absent spec (undefined) is a constant lr. */
export function scheduleFromSpec(spec: Json | undefined, scope: ValidationScope): Schedule {
  if (spec === undefined) return CONSTANT_SCHEDULE;
  return parseWithSchema(scheduleSpec, spec, scope);
}
