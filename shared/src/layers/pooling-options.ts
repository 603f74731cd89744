import { intPair } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { poolingGeometry } from '../kernels/geometry.js';
import type { Padding } from '../kernels/geometry.js';
import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape } from '../tensor/tensor.js';
import { atLayer, padding, requireInputRank, toPair } from './options.js';

/** Options shared by maxPool2d and avgPool2d (Keras defaults: poolSize 2, strides = poolSize, 'valid'). */
export interface Pooling2DOptions {
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

/** The options of a pooling layer spec (strides default to the pool size). */
export const poolShape = {
  poolSize: intPair().default(2),
  strides: intPair().optional().describe('Default: the pool size.'),
  padding: padding(),
};

export interface PoolSpec {
  readonly poolSize: number | readonly [number, number];
  readonly strides?: number | readonly [number, number] | undefined;
  readonly padding: Padding;
}

export function poolOptions(type: string, spec: PoolSpec, inputShape: Shape, name: string, scope: ValidationScope): Pooling2DOptions {
  const poolSize = toPair(spec.poolSize);
  const parsed: Pooling2DOptions = { poolSize, strides: spec.strides === undefined ? poolSize : toPair(spec.strides), padding: spec.padding };
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
