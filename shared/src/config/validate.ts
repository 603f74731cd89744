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
