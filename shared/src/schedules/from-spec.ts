import { ConfigError } from '../errors.js';
import {
  type Json,
  type ValidationScope,
  fieldPath,
  oneOf,
  optionalBoolean,
  optionalNumber,
  rejectUnknownKeys,
  requireNumber,
  requireObject,
} from '../config/validate.js';
import type { Decay, Schedule } from './schedule.js';

export const SCHEDULE_TYPES = ['constant', 'step', 'exponential', 'cosine'] as const;

export const CONSTANT_SCHEDULE: Schedule = { warmupSteps: 0, decay: { type: 'constant' } };

const OPTIONS: { readonly [K in Decay['type']]: readonly string[] } = {
  constant: [],
  step: ['gamma', 'everySteps', 'everyEpochs'],
  exponential: ['decayRate', 'decaySteps', 'staircase'],
  cosine: ['decaySteps', 'alpha'],
};

const positiveInt = { integer: true, min: 1 } as const;

/**
 * Validates a schedule spec, e.g.
 * `{ "type": "cosine", "decaySteps": 5000, "alpha": 0.01, "warmupSteps": 500 }` or
 * `{ "type": "step", "everyEpochs": 10, "gamma": 0.5 }`. `warmupSteps` is accepted on every type;
 * `{ "type": "constant", "warmupSteps": 100 }` is warm-up alone. An absent spec (undefined) is a
 * constant lr.
 */
export function scheduleFromSpec(spec: Json | undefined, scope: ValidationScope): Schedule {
  if (spec === undefined) return CONSTANT_SCHEDULE;
  const obj = requireObject(spec, scope, 'a schedule object such as { "type": "cosine", "decaySteps": 1000 }');
  const type = oneOf(obj, 'type', scope, SCHEDULE_TYPES);
  rejectUnknownKeys(obj, ['type', 'warmupSteps', ...OPTIONS[type]], scope);
  const warmupSteps = optionalNumber(obj, 'warmupSteps', scope, 0, { integer: true, min: 0 });
  return { warmupSteps, decay: decayFromSpec(type, obj, scope) };
}

function decayFromSpec(type: Decay['type'], obj: { [key: string]: Json }, scope: ValidationScope): Decay {
  switch (type) {
    case 'constant':
      return { type };
    case 'step': {
      const gamma = requireNumber(obj, 'gamma', scope, { above: 0 });
      const hasSteps = 'everySteps' in obj;
      if (hasSteps === 'everyEpochs' in obj) {
        throw new ConfigError(fieldPath(scope, 'everySteps'), 'exactly one of "everySteps" and "everyEpochs" must be given', {
          hint: 'e.g. { "type": "step", "everyEpochs": 10, "gamma": 0.5 }',
          ...(scope.file ? { file: scope.file } : {}),
        });
      }
      return hasSteps
        ? { type, gamma, every: requireNumber(obj, 'everySteps', scope, positiveInt), unit: 'steps' }
        : { type, gamma, every: requireNumber(obj, 'everyEpochs', scope, positiveInt), unit: 'epochs' };
    }
    case 'exponential':
      return {
        type,
        decayRate: requireNumber(obj, 'decayRate', scope, { above: 0 }),
        decaySteps: requireNumber(obj, 'decaySteps', scope, positiveInt),
        staircase: optionalBoolean(obj, 'staircase', scope, false),
      };
    case 'cosine':
      return {
        type,
        decaySteps: requireNumber(obj, 'decaySteps', scope, positiveInt),
        alpha: optionalNumber(obj, 'alpha', scope, 0, { min: 0, max: 1 }),
      };
  }
}
