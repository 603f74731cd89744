import type { JsonObject, ValidationScope } from '../config/validate.js';
import { rejectUnknownKeys } from '../config/validate.js';
import { poolingGeometry } from '../kernels/geometry.js';
import type { Padding } from '../kernels/geometry.js';
import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape } from '../tensor/tensor.js';
import { atLayer, paddingOption, pairOption, requireInputRank } from './options.js';

/** Options shared by maxPool2d and avgPool2d (Keras defaults: poolSize 2, strides = poolSize, 'valid'). */
export interface Pooling2DOptions {
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

export function parsePoolingOptions(type: string, options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope): Pooling2DOptions {
  rejectUnknownKeys(options, ['poolSize', 'strides', 'padding'], scope);
  const poolSize = pairOption(options, 'poolSize', scope, [2, 2]);
  const parsed: Pooling2DOptions = { poolSize, strides: pairOption(options, 'strides', scope, poolSize), padding: paddingOption(options, scope) };
  requireInputRank(type, name, inputShape, 3, scope, `${type} takes [height, width, channels] per sample; add a reshape layer before it`);
  // Fail at build time, with the layer's path, when the window does not fit.
  atLayer(scope, name, () => poolingGeometryFor(inputShape, parsed, 1));
  return parsed;
}

export function poolingGeometryFor(inputShape: Shape, o: Pooling2DOptions, batch: number): WindowGeometry {
  return poolingGeometry([batch, ...inputShape], o.poolSize, o.strides, o.padding);
}

export function pooledShape(inputShape: Shape, o: Pooling2DOptions): Shape {
  const g = poolingGeometryFor(inputShape, o, 1);
  return [g.outHeight, g.outWidth, g.outChannels];
}
