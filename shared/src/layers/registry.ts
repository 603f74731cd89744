import type { JsonObject, ValidationScope } from '../config/validate.js';
import { fieldPath, optionalString, requireString } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import type { Shape } from '../tensor/tensor.js';
import { fromSpec as activation } from './activation.js';
import { fromSpec as avgPool2d } from './average-pooling2d.js';
import { fromSpec as batchNorm } from './batch-norm.js';
import { fromSpec as conv2d } from './conv2d.js';
import { fromSpec as dense } from './dense.js';
import { fromSpec as dropout } from './dropout.js';
import { fromSpec as flatten } from './flatten.js';
import { fromSpec as gru } from './gru.js';
import type { Layer } from './layer.js';
import { fromSpec as lstm } from './lstm.js';
import { fromSpec as maxPool2d } from './max-pooling2d.js';
import { fromSpec as reshape } from './reshape.js';
import { fromSpec as simpleRnn } from './simple-rnn.js';

/**
 * Builds a layer from its spec options (the spec minus `type` and `name`). It validates every
 * option strictly (unknown keys rejected, errors naming `scope.path` + key) and checks that
 * `inputShape` (per sample, from the previous layer) is one it can take.
 */
export type LayerFactory = (options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope) => Layer;

/** Spec `type` → factory. The one place a layer type is made known to configs. */
const factories: Readonly<Record<string, LayerFactory>> = {
  dense,
  conv2d,
  maxPool2d,
  avgPool2d,
  flatten,
  reshape,
  dropout,
  batchNorm,
  activation,
  // Recurrent layers (simpleRnn, lstm, gru) are added here by their author.
  simpleRnn,
  lstm,
  gru,
};

export function layerTypes(): string[] {
  return Object.keys(factories);
}

/**
 * The layer for one spec of a model's `layers` array. `scope` is the spec's own scope (e.g.
 * `model.layers[3]`), so an error names `model.layers[3].units`; `index` numbers the default
 * name `${type}_${index}`.
 */
export function createLayer(spec: JsonObject, inputShape: Shape, index: number, scope: ValidationScope): Layer {
  const type = requireString(spec, 'type', scope);
  const factory = Object.hasOwn(factories, type) ? factories[type] : undefined;
  if (factory === undefined) {
    throw new ConfigError(fieldPath(scope, 'type'), 'is not a known layer type', {
      value: type,
      hint: `known types: ${layerTypes().join(', ')}`,
      ...(scope.file !== undefined ? { file: scope.file } : {}),
    });
  }
  const name = optionalString(spec, 'name', scope, `${type}_${index}`);
  const { type: _type, name: _name, ...options } = spec;
  return factory(options, inputShape, name, scope);
}
