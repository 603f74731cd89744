import type { JsonObject, ValidationScope } from '../config/validate.js';
import { child, fieldPath, intPair, isObject, oneOf, optionalNumber, rejectUnknownKeys, requireNumber } from '../config/validate.js';
import { ConfigError, ShapeError } from '../errors.js';
import { INITIALIZER_NAMES } from '../initializers/spec.js';
import type { InitializerSpec } from '../initializers/spec.js';
import type { Padding } from '../kernels/geometry.js';
import { PADDINGS } from '../kernels/geometry.js';
import type { RegularizerSpec } from '../regularizers/spec.js';
import type { Shape } from '../tensor/tensor.js';
import { formatShape } from '../tensor/tensor.js';
import type { LayerActivation } from './activation-op.js';
import { LAYER_ACTIVATIONS, defaultAlpha } from './activation-op.js';

/**
 * Readers for option values several layer specs share (activation, initializers, regularizer,
 * padding, window sizes) and the input-rank check that makes shape chaining fail early with a fix.
 */

function configOptions(scope: ValidationScope, value: unknown, hint?: string): { value: unknown; hint?: string; file?: string } {
  return { value, ...(hint ? { hint } : {}), ...(scope.file !== undefined ? { file: scope.file } : {}) };
}

export interface ActivationChoice {
  readonly kind: LayerActivation;
  readonly alpha: number;
}

/** `activation` (default `fallback`) and its `alpha` (leakyRelu slope / elu scale). */
export function activationOption(obj: JsonObject, scope: ValidationScope, fallback?: LayerActivation): ActivationChoice {
  const kind = oneOf(obj, 'activation', scope, LAYER_ACTIVATIONS, fallback);
  const alpha = optionalNumber(obj, 'alpha', scope, defaultAlpha(kind), { min: 0 });
  return { kind, alpha };
}

/** A named initializer or `{ "type": "constant", "value": v }`. */
export function initializerOption(obj: JsonObject, key: string, scope: ValidationScope, fallback: InitializerSpec): InitializerSpec {
  if (!(key in obj)) return fallback;
  const v = obj[key];
  if (typeof v === 'string') {
    if ((INITIALIZER_NAMES as readonly string[]).includes(v)) return v as InitializerSpec;
    throw new ConfigError(fieldPath(scope, key), 'is not a known initializer', configOptions(scope, v, `known: ${INITIALIZER_NAMES.join(', ')}, or { "type": "constant", "value": v }`));
  }
  if (isObject(v) && v['type'] === 'constant') {
    const inner = child(scope, key);
    rejectUnknownKeys(v, ['type', 'value'], inner);
    return { type: 'constant', value: requireNumber(v, 'value', inner) };
  }
  throw new ConfigError(fieldPath(scope, key), 'must be an initializer name or { "type": "constant", "value": v }', configOptions(scope, v));
}

/** `{ "l1": a, "l2": b }` (either may be left out, meaning 0); absent → no regularizer. */
export function regularizerOption(obj: JsonObject, key: string, scope: ValidationScope): RegularizerSpec | undefined {
  if (!(key in obj)) return undefined;
  const v = obj[key];
  if (!isObject(v)) throw new ConfigError(fieldPath(scope, key), 'must be an object { "l1": a, "l2": b }', configOptions(scope, v));
  const inner = child(scope, key);
  rejectUnknownKeys(v, ['l1', 'l2'], inner);
  return { l1: optionalNumber(v, 'l1', inner, 0, { min: 0 }), l2: optionalNumber(v, 'l2', inner, 0, { min: 0 }) };
}

export function paddingOption(obj: JsonObject, scope: ValidationScope): Padding {
  return oneOf(obj, 'padding', scope, PADDINGS, 'valid');
}

/** A window size or stride: n or [h, w]. */
export function pairOption(obj: JsonObject, key: string, scope: ValidationScope, fallback?: readonly [number, number]): [number, number] {
  return intPair(obj, key, scope, fallback);
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
