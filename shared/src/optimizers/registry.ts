import type { Backend } from '../kernels/backend.js';
import type { Json, ValidationScope } from '../config/validate.js';
import { parseWithSchema } from '../config/schema-errors.js';
import type { Optimizer } from './optimizer.js';
import { Sgd } from './sgd.js';
import { Adam } from './adam.js';
import { AdamW } from './adamw.js';
import { Adagrad } from './adagrad.js';
import { Rmsprop } from './rmsprop.js';
import { optimizerSpec, type OptimizerSpec } from './spec.js';

export const OPTIMIZER_TYPES: readonly OptimizerSpec['type'][] = ['sgd', 'adam', 'adamw', 'adagrad', 'rmsprop'];

/** The base learning rate of an optimizer spec (> 0), or the type's default when absent. */
export function optimizerLearningRate(spec: Json, scope: ValidationScope = { path: 'optimizer' }): number {
  return parseWithSchema(optimizerSpec, spec, scope).learningRate;
}

/**
 * Validates an optimizer spec (see spec.ts) and builds the optimizer for the given trainable segment
 * sizes. Every problem is a ConfigError naming the field (e.g. `optimizer.beta2`) and its value.
 */
export function optimizerFromSpec(spec: Json, scope: ValidationScope, backend: Backend, sizes: readonly number[]): Optimizer {
  const parsed = parseWithSchema(optimizerSpec, spec, scope);
  switch (parsed.type) {
    case 'sgd': return new Sgd(backend, sizes, optionsOf(parsed));
    case 'adam': return new Adam(backend, sizes, optionsOf(parsed));
    case 'adamw': return new AdamW(backend, sizes, optionsOf(parsed));
    case 'adagrad': return new Adagrad(backend, sizes, optionsOf(parsed));
    case 'rmsprop': return new Rmsprop(backend, sizes, optionsOf(parsed));
  }
}

/** The constructor's options: the spec without its tag and the lr (the trainer passes the lr per step). */
function optionsOf<T extends { type: string; learningRate: number }>({ type: _type, learningRate: _lr, ...options }: T): Omit<T, 'type' | 'learningRate'> {
  return options;
}
