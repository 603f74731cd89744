import { ConfigError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import {
  type Json,
  type JsonObject,
  type ValidationScope,
  fieldPath,
  optionalBoolean,
  optionalNumber,
  rejectUnknownKeys,
  requireObject,
} from '../config/validate.js';
import type { Optimizer } from './optimizer.js';
import { Sgd, SGD_DEFAULTS } from './sgd.js';
import { Adam, ADAM_DEFAULTS, ADAMW_DEFAULTS } from './adam.js';
import { AdamW } from './adamw.js';
import { Adagrad, ADAGRAD_DEFAULTS } from './adagrad.js';
import { Rmsprop, RMSPROP_DEFAULTS } from './rmsprop.js';

/**
 * The optimizer spec of a config, e.g. `{ "type": "adam", "learningRate": 0.001, "beta1": 0.9 }`.
 * Each type lists its options, defaults and learning rate in one table row, so validation,
 * construction and the lr lookup cannot drift apart.
 */
interface OptimizerEntry {
  readonly defaultLearningRate: number;
  readonly options: readonly string[];
  create(spec: JsonObject, scope: ValidationScope, backend: Backend, sizes: readonly number[]): Optimizer;
}

const unit = { min: 0, max: 1 } as const;
const belowOne = { min: 0, max: 1 - Number.EPSILON } as const;
const nonNegative = { min: 0 } as const;
const positive = { above: 0 } as const;

const OPTIMIZERS: { readonly [type: string]: OptimizerEntry } = {
  sgd: {
    defaultLearningRate: 0.01,
    options: ['momentum', 'nesterov', 'weightDecay'],
    create(spec, scope, backend, sizes) {
      const momentum = optionalNumber(spec, 'momentum', scope, SGD_DEFAULTS.momentum, unit);
      const nesterov = optionalBoolean(spec, 'nesterov', scope, SGD_DEFAULTS.nesterov);
      if (nesterov && momentum === 0) {
        throw new ConfigError(fieldPath(scope, 'nesterov'), 'needs a momentum > 0', {
          value: true,
          hint: 'set "momentum" (e.g. 0.9) or drop "nesterov"',
          ...(scope.file ? { file: scope.file } : {}),
        });
      }
      const weightDecay = optionalNumber(spec, 'weightDecay', scope, SGD_DEFAULTS.weightDecay, nonNegative);
      return new Sgd(backend, sizes, { momentum, nesterov, weightDecay });
    },
  },
  adam: {
    defaultLearningRate: 0.001,
    options: ['beta1', 'beta2', 'epsilon', 'weightDecay'],
    create: (spec, scope, backend, sizes) => new Adam(backend, sizes, adamOptions(spec, scope, ADAM_DEFAULTS.weightDecay)),
  },
  adamw: {
    defaultLearningRate: 0.001,
    options: ['beta1', 'beta2', 'epsilon', 'weightDecay'],
    create: (spec, scope, backend, sizes) => new AdamW(backend, sizes, adamOptions(spec, scope, ADAMW_DEFAULTS.weightDecay)),
  },
  adagrad: {
    defaultLearningRate: 0.001,
    options: ['initialAccumulatorValue', 'epsilon'],
    create: (spec, scope, backend, sizes) =>
      new Adagrad(backend, sizes, {
        initialAccumulatorValue: optionalNumber(spec, 'initialAccumulatorValue', scope, ADAGRAD_DEFAULTS.initialAccumulatorValue, nonNegative),
        epsilon: optionalNumber(spec, 'epsilon', scope, ADAGRAD_DEFAULTS.epsilon, positive),
      }),
  },
  rmsprop: {
    defaultLearningRate: 0.001,
    options: ['rho', 'momentum', 'epsilon', 'centered'],
    create: (spec, scope, backend, sizes) =>
      new Rmsprop(backend, sizes, {
        rho: optionalNumber(spec, 'rho', scope, RMSPROP_DEFAULTS.rho, belowOne),
        momentum: optionalNumber(spec, 'momentum', scope, RMSPROP_DEFAULTS.momentum, unit),
        epsilon: optionalNumber(spec, 'epsilon', scope, RMSPROP_DEFAULTS.epsilon, positive),
        centered: optionalBoolean(spec, 'centered', scope, RMSPROP_DEFAULTS.centered),
      }),
  },
};

export const OPTIMIZER_TYPES: readonly string[] = Object.keys(OPTIMIZERS);

function adamOptions(spec: JsonObject, scope: ValidationScope, defaultDecay: number) {
  return {
    beta1: optionalNumber(spec, 'beta1', scope, ADAM_DEFAULTS.beta1, belowOne),
    beta2: optionalNumber(spec, 'beta2', scope, ADAM_DEFAULTS.beta2, belowOne),
    epsilon: optionalNumber(spec, 'epsilon', scope, ADAM_DEFAULTS.epsilon, positive),
    weightDecay: optionalNumber(spec, 'weightDecay', scope, defaultDecay, nonNegative),
  };
}

/** Reads `type`, rejecting unknown types and unknown keys for the type. */
function entryOf(spec: Json, scope: ValidationScope): { obj: JsonObject; entry: OptimizerEntry } {
  const obj = requireObject(spec, scope, 'an optimizer object such as { "type": "adam", "learningRate": 0.001 }');
  const type = obj['type'];
  const entry = typeof type === 'string' && Object.hasOwn(OPTIMIZERS, type) ? OPTIMIZERS[type] : undefined;
  if (entry === undefined) {
    throw new ConfigError(fieldPath(scope, 'type'), 'is not a known optimizer', {
      value: type,
      hint: `known optimizers: ${OPTIMIZER_TYPES.join(', ')}`,
      ...(scope.file ? { file: scope.file } : {}),
    });
  }
  rejectUnknownKeys(obj, ['type', 'learningRate', ...entry.options], scope);
  return { obj, entry };
}

/** The base learning rate of an optimizer spec (> 0), or the type's default when absent. */
export function optimizerLearningRate(spec: Json, scope: ValidationScope = { path: 'optimizer' }): number {
  const { obj, entry } = entryOf(spec, scope);
  return optionalNumber(obj, 'learningRate', scope, entry.defaultLearningRate, positive);
}

/**
 * Validates an optimizer spec and builds the optimizer for the given trainable segment sizes.
 * Every problem is a ConfigError naming the field (e.g. `optimizer.beta2`) and its value.
 */
export function optimizerFromSpec(spec: Json, scope: ValidationScope, backend: Backend, sizes: readonly number[]): Optimizer {
  const { obj, entry } = entryOf(spec, scope);
  // Validated here too so a bad lr fails at startup even if the trainer reads it later.
  optimizerLearningRate(obj, scope);
  return entry.create(obj, scope, backend, sizes);
}
