import type { z } from 'zod';
import { parseWithSchema } from '../config/schema-errors.js';
import { tagged } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import type { Shape } from '../tensor/tensor.js';
import { fromSpec as activation, activationSpec } from './activation.js';
import { fromSpec as avgPool2d, avgPool2dSpec } from './average-pooling2d.js';
import { fromSpec as batchNorm, batchNormSpec } from './batch-norm.js';
import { fromSpec as conv2d, conv2dSpec } from './conv2d.js';
import { fromSpec as dense, denseSpec } from './dense.js';
import { fromSpec as dropout, dropoutSpec } from './dropout.js';
import { fromSpec as flatten, flattenSpec } from './flatten.js';
import { fromSpec as gru, gruSpec } from './gru.js';
import type { Layer } from './layer.js';
import { fromSpec as lstm, lstmSpec } from './lstm.js';
import { fromSpec as maxPool2d, maxPool2dSpec } from './max-pooling2d.js';
import { fromSpec as reshape, reshapeSpec } from './reshape.js';
import { fromSpec as simpleRnn, simpleRnnSpec } from './simple-rnn.js';

/**
 * A layer spec, e.g. `{ "type": "dense", "units": 10 }`: one branch per layer type, each declaring
 * its options (unknown keys rejected, errors naming `model.layers[3].units`). The one place a layer
 * type is made known to configs, next to its factory below.
 */
export const layerSpec = tagged(
  'type',
  [
    denseSpec,
    conv2dSpec,
    maxPool2dSpec,
    avgPool2dSpec,
    flattenSpec,
    reshapeSpec,
    dropoutSpec,
    batchNormSpec,
    activationSpec,
    simpleRnnSpec,
    lstmSpec,
    gruSpec,
  ],
  'layer type',
  'a layer spec object such as { "type": "dense", "units": 10 }',
);

export type LayerSpec = z.output<typeof layerSpec>;

/**
 * Builds a layer from its validated spec; checks that `inputShape` (per sample, from the previous
 * layer) is one it can take.
 */
type LayerFactory<S extends LayerSpec> = (spec: S, inputShape: Shape, name: string, scope: ValidationScope) => Layer;

const factories: { readonly [T in LayerSpec['type']]: LayerFactory<Extract<LayerSpec, { type: T }>> } = {
  dense,
  conv2d,
  maxPool2d,
  avgPool2d,
  flatten,
  reshape,
  dropout,
  batchNorm,
  activation,
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
export function createLayer(spec: unknown, inputShape: Shape, index: number, scope: ValidationScope): Layer {
  return buildLayer(parseWithSchema(layerSpec, spec, scope), inputShape, index, scope);
}

/** The layer for a spec already validated (as part of a model spec). */
export function buildLayer(spec: LayerSpec, inputShape: Shape, index: number, scope: ValidationScope): Layer {
  const factory = factories[spec.type] as LayerFactory<LayerSpec>;
  return factory(spec, inputShape, spec.name ?? `${spec.type}_${index}`, scope);
}
