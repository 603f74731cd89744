import { ConfigError, formatValue } from '../errors.js';

/**
 * JSON types and small field readers for untrusted JSON read by hand (wire messages); configs are
 * declared as schemas instead (run-config-schema.ts). Each reader takes the object, the key and the
 * scope of the object, so an error names the exact field (`body.state.position.epoch`), and throws the
 * error its scope makes: a ConfigError by default, the protocol's own error for a message.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Makes the error for a bad field; `describeField` words it the way ConfigError does. */
export type FieldErrorFactory = (field: string, message: string, details: { value?: unknown; hint?: string }) => Error;

export interface ValidationScope {
  /** Dotted path of the object being read, e.g. `model.layers[2]`. */
  readonly path: string;
  /** The file the object came from, when known. */
  readonly file?: string;
  /** The error a bad field raises; absent: a ConfigError naming `file`. */
  readonly error?: FieldErrorFactory;
}

export function fieldPath(scope: ValidationScope, key: string | number): string {
  if (typeof key === 'number') return `${scope.path}[${key}]`;
  return scope.path ? `${scope.path}.${key}` : key;
}

export function child(scope: ValidationScope, key: string | number): ValidationScope {
  return { ...scope, path: fieldPath(scope, key) };
}

/** `field: message (got value)`, the one-line form of every field error. */
export function describeField(field: string, message: string, details: { value?: unknown } = {}): string {
  return `${field}: ${message}${'value' in details ? ` (got ${formatValue(details.value)})` : ''}`;
}

/** Throws the scope's error for `key` (pass `value` to show what was found). */
export function failAt(scope: ValidationScope, key: string | number, message: string, ...value: [unknown?]): never {
  const details: { value?: unknown } = value.length > 0 ? { value: value[0] } : {};
  throwField(scope, fieldPath(scope, key), message, details);
}

function throwField(scope: ValidationScope, field: string, message: string, details: { value?: unknown; hint?: string }): never {
  if (scope.error !== undefined) throw scope.error(field, message, details);
  throw new ConfigError(field, message, { ...details, ...(scope.file !== undefined ? { file: scope.file } : {}) });
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rejects keys not in `allowed` (catches typos and fields from another version). */
export function rejectUnknownKeys(obj: JsonObject, allowed: readonly string[], scope: ValidationScope): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throwField(scope, fieldPath(scope, key), 'is not a known option', { hint: `allowed: ${allowed.join(', ')}` });
  }
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  readonly integer?: boolean;
}

export function requireNumber(obj: JsonObject, key: string, scope: ValidationScope, rule: NumberRule = {}): number {
  if (!(key in obj)) failAt(scope, key, 'is required');
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) failAt(scope, key, 'must be a finite number', v);
  if (rule.integer && !Number.isInteger(v)) failAt(scope, key, 'must be an integer', v);
  if (rule.min !== undefined && v < rule.min) failAt(scope, key, `must be ≥ ${rule.min}`, v);
  if (rule.max !== undefined && v > rule.max) failAt(scope, key, `must be ≤ ${rule.max}`, v);
  if (rule.above !== undefined && !(v > rule.above)) failAt(scope, key, `must be > ${rule.above}`, v);
  return v;
}

export function requireString(obj: JsonObject, key: string, scope: ValidationScope): string {
  const v = obj[key];
  if (!(key in obj)) failAt(scope, key, 'is required');
  if (typeof v !== 'string' || v.length === 0) failAt(scope, key, 'must be a non-empty string', v);
  return v;
}

export function optionalBoolean(obj: JsonObject, key: string, scope: ValidationScope, fallback: boolean): boolean {
  if (!(key in obj)) return fallback;
  const v = obj[key];
  if (typeof v !== 'boolean') failAt(scope, key, 'must be true or false', v);
  return v;
}

// ---- readers for untrusted JSON (wire messages, checkpoint metadata) --------------------------------------------

/** The most entries a map of named sums (`extras`) may hold. */
export const MAX_EXTRAS = 64;

/** A plain object (not an array, Map, Buffer or class instance that a decoder might hand back). */
export function isPlainObject(v: unknown): v is JsonObject {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export function object(obj: JsonObject, key: string, scope: ValidationScope): JsonObject {
  if (!(key in obj)) failAt(scope, key, 'is required');
  const v = obj[key];
  if (!isPlainObject(v)) failAt(scope, key, 'must be a map', v);
  return v;
}

export function int(obj: JsonObject, key: string, scope: ValidationScope, rule: NumberRule): number {
  return requireNumber(obj, key, scope, { ...rule, integer: true });
}

export function optionalInt(obj: JsonObject, key: string, scope: ValidationScope, rule: NumberRule): number | undefined {
  return key in obj ? int(obj, key, scope, rule) : undefined;
}

export function bool(obj: JsonObject, key: string, scope: ValidationScope): boolean {
  if (!(key in obj)) failAt(scope, key, 'is required');
  return optionalBoolean(obj, key, scope, false);
}

/**
 * Any number, NaN and ±Infinity included, for values whose divergence the receiver must see (a loss).
 * `nullAsNaN` reads null as NaN: that is how JSON writes NaN and ±Infinity (msgpack keeps them).
 */
export function anyNumber(obj: JsonObject, key: string, scope: ValidationScope, nullAsNaN = false): number {
  if (!(key in obj)) failAt(scope, key, 'is required');
  const v = obj[key];
  if (v === null && nullAsNaN) return Number.NaN;
  if (typeof v !== 'number') failAt(scope, key, 'must be a number', v);
  return v;
}

/** A number or null (a metric that does not apply); NaN/±Infinity allowed, like a diverged loss. */
export function numberOrNull(obj: JsonObject, key: string, scope: ValidationScope): number | null {
  if (!(key in obj)) failAt(scope, key, 'is required');
  return obj[key] === null ? null : anyNumber(obj, key, scope);
}

/** Named sums, e.g. `{ "kl": 12.5 }`: at most MAX_EXTRAS names of 1–64 characters, values as anyNumber. */
export function numberRecord(obj: JsonObject, key: string, scope: ValidationScope, nullAsNaN = false): Record<string, number> {
  const v = object(obj, key, scope);
  const entries = Object.entries(v);
  if (entries.length > MAX_EXTRAS) failAt(scope, key, `must have at most ${MAX_EXTRAS} entries`, entries.length);
  const at = child(scope, key);
  const out: Record<string, number> = {};
  for (const [name] of entries) {
    if (name.length === 0 || name.length > 64) failAt(at, name, 'name must be 1–64 characters');
    out[name] = anyNumber(v, name, at, nullAsNaN);
  }
  return out;
}
