import type { JsonObject, ValidationScope } from '../config/validate.js';
import { rejectUnknownKeys } from '../config/validate.js';
import { poolGeometry } from '../kernels/geometry.js';
import type { Padding } from '../kernels/geometry.js';
import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape } from '../tensor/tensor.js';
import { atLayer, paddingOption, pairOption, requireInputRank } from './options.js';

/** Options shared by maxPool2d and avgPool2d (Keras defaults: poolSize 2, strides = poolSize, 'valid'). */
export interface Pool2DOptions {
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

export function parsePoolOptions(type: string, options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope): Pool2DOptions {
  rejectUnknownKeys(options, ['poolSize', 'strides', 'padding'], scope);
  const poolSize = pairOption(options, 'poolSize', scope, [2, 2]);
  const parsed: Pool2DOptions = { poolSize, strides: pairOption(options, 'strides', scope, poolSize), padding: paddingOption(options, scope) };
  requireInputRank(type, name, inputShape, 3, scope, `${type} takes [height, width, channels] per sample; add a reshape layer before it`);
  // Fail at build time, with the layer's path, when the window does not fit.
  atLayer(scope, name, () => poolGeometryFor(inputShape, parsed, 1));
  return parsed;
}

export function poolGeometryFor(inputShape: Shape, o: Pool2DOptions, batch: number): WindowGeometry {
  return poolGeometry([batch, ...inputShape], o.poolSize, o.strides, o.padding);
}

export function pooledShape(inputShape: Shape, o: Pool2DOptions): Shape {
  const g = poolGeometryFor(inputShape, o, 1);
  return [g.outHeight, g.outWidth, g.outChannels];
}
