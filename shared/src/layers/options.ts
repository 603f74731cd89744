import { z } from 'zod';
import { nonEmptyString, nonNegative, options } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { ShapeError } from '../errors.js';
import { initializerSpec } from '../initializers/from-spec.js';
import type { InitializerSpec } from '../initializers/spec.js';
import type { Padding } from '../kernels/geometry.js';
import { PADDINGS } from '../kernels/geometry.js';
import type { Shape } from '../tensor/tensor.js';
import { formatShape } from '../tensor/tensor.js';
import type { LayerActivation } from './activation-op.js';
import { LAYER_ACTIVATIONS, defaultAlpha } from './activation-op.js';

/**
 * Schema pieces several layer specs share (type and name, activation, initializers, regularizer,
 * padding, window sizes), the conversions their builders apply, and the input-rank check that makes
 * shape chaining fail early with a fix.
 */

/** A layer spec: its `type`, an optional `name` and its own options (unknown keys rejected). */
export function layerSpec<const T extends string, S extends z.core.$ZodLooseShape>(type: T, shape: S) {
  return options({
    type: z.literal(type),
    name: nonEmptyString().optional().describe('Layer name (default: type_index).'),
    ...shape,
  });
}

/** `activation` (default `fallback`, required without one) and its `alpha` (leakyRelu slope / elu scale). */
export function activationOptions(fallback?: LayerActivation) {
  const kind = z.enum(LAYER_ACTIVATIONS as [LayerActivation, ...LayerActivation[]]);
  return {
    activation: fallback === undefined ? kind : kind.default(fallback),
    alpha: nonNegative().optional().describe('leakyRelu negative slope (default 0.2) or elu scale (default 1).'),
  };
}

export interface ActivationChoice {
  readonly kind: LayerActivation;
  readonly alpha: number;
}

export function activationChoice(spec: { readonly activation: LayerActivation; readonly alpha?: number | undefined }): ActivationChoice {
  return { kind: spec.activation, alpha: spec.alpha ?? defaultAlpha(spec.activation) };
}

export const initializer = (fallback: InitializerSpec) => initializerSpec.default(fallback);

export const padding = () => z.enum(PADDINGS as [Padding, ...Padding[]]).default('valid');

/** A window size or stride as its pair [h, w]. */
export function toPair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/**
 * Shape chaining: a layer that needs a `rank`-D input per sample fails here, naming the layer,
 * the shape it got and how to fix the model (e.g. "add a flatten layer").
 */
export function requireInputRank(type: string, name: string, inputShape: Shape, rank: number, scope: ValidationScope, hint: string): void {
  if (inputShape.length === rank) return;
  throw new ShapeError(
    `${scope.path || name}: ${type} layer "${name}" needs a ${rank}-D input per sample but the previous layer outputs ${formatShape(inputShape)}`,
    { hint, context: { field: scope.path, layer: name, inputShape: formatShape(inputShape) } },
  );
}

/** Re-throws a geometry ShapeError with the layer's spec path in front, so the user finds the layer. */
export function atLayer<T>(scope: ValidationScope, name: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(`${scope.path || name} ("${name}"): ${e.message}`, { context: { field: scope.path, layer: name } });
    throw e;
  }
}
