import { ConfigError } from '../errors.js';

/**
 * Small validators for configs and specs. Each takes the object, the key and the dotted path of
 * the object (e.g. `model.layers[2]`), so an error names the exact field: `model.layers[2].units`.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ValidationScope {
  /** Dotted path of the object being read, e.g. `model.layers[2]`. */
  readonly path: string;
  /** The file the object came from, when known. */
  readonly file?: string;
}

export function fieldPath(scope: ValidationScope, key: string | number): string {
  if (typeof key === 'number') return `${scope.path}[${key}]`;
  return scope.path ? `${scope.path}.${key}` : key;
}

export function child(scope: ValidationScope, key: string | number): ValidationScope {
  return scope.file === undefined ? { path: fieldPath(scope, key) } : { path: fieldPath(scope, key), file: scope.file };
}

function fail(scope: ValidationScope, key: string | number, message: string, value?: unknown, hint?: string): never {
  const options: { value?: unknown; hint?: string; file?: string } = {};
  if (arguments.length >= 4) options.value = value;
  if (hint !== undefined) options.hint = hint;
  if (scope.file !== undefined) options.file = scope.file;
  throw new ConfigError(fieldPath(scope, key), message, options);
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requireObject(v: unknown, scope: ValidationScope, what = 'an object'): JsonObject {
  if (!isObject(v)) {
    throw new ConfigError(scope.path || '(root)', `must be ${what}`, { value: v, ...(scope.file ? { file: scope.file } : {}) });
  }
  return v;
}

/** Rejects keys not in `allowed` (catches typos such as "unit" for "units"). */
export function rejectUnknownKeys(obj: JsonObject, allowed: readonly string[], scope: ValidationScope): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(scope, key, 'is not a known option', undefined, `allowed: ${allowed.join(', ')}`);
  }
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  readonly integer?: boolean;
}

function checkNumber(v: unknown, scope: ValidationScope, key: string, rule: NumberRule): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(scope, key, 'must be a finite number', v);
  if (rule.integer && !Number.isInteger(v)) fail(scope, key, 'must be an integer', v);
  if (rule.min !== undefined && v < rule.min) fail(scope, key, `must be ≥ ${rule.min}`, v);
  if (rule.max !== undefined && v > rule.max) fail(scope, key, `must be ≤ ${rule.max}`, v);
  if (rule.above !== undefined && !(v > rule.above)) fail(scope, key, `must be > ${rule.above}`, v);
  return v;
}

export function requireNumber(obj: JsonObject, key: string, scope: ValidationScope, rule: NumberRule = {}): number {
  if (!(key in obj)) fail(scope, key, 'is required');
  return checkNumber(obj[key], scope, key, rule);
}

export function optionalNumber(obj: JsonObject, key: string, scope: ValidationScope, fallback: number, rule: NumberRule = {}): number {
  if (!(key in obj) || obj[key] === undefined) return fallback;
  return checkNumber(obj[key], scope, key, rule);
}

export function requireString(obj: JsonObject, key: string, scope: ValidationScope): string {
  const v = obj[key];
  if (!(key in obj)) fail(scope, key, 'is required');
  if (typeof v !== 'string' || v.length === 0) fail(scope, key, 'must be a non-empty string', v);
  return v;
}

export function optionalString(obj: JsonObject, key: string, scope: ValidationScope, fallback: string): string {
  if (!(key in obj)) return fallback;
  return requireString(obj, key, scope);
}

export function optionalBoolean(obj: JsonObject, key: string, scope: ValidationScope, fallback: boolean): boolean {
  if (!(key in obj)) return fallback;
  const v = obj[key];
  if (typeof v !== 'boolean') fail(scope, key, 'must be true or false', v);
  return v;
}

export function oneOf<T extends string>(obj: JsonObject, key: string, scope: ValidationScope, allowed: readonly T[], fallback?: T): T {
  if (!(key in obj)) {
    if (fallback !== undefined) return fallback;
    fail(scope, key, `is required (one of ${allowed.join(', ')})`);
  }
  const v = obj[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(scope, key, `must be one of ${allowed.join(', ')}`, v);
  return v as T;
}

/** A positive integer or a pair of them, e.g. kernelSize 3 or [3, 5]. */
export function intPair(obj: JsonObject, key: string, scope: ValidationScope, fallback?: readonly [number, number]): [number, number] {
  if (!(key in obj)) {
    if (fallback) return [fallback[0], fallback[1]];
    fail(scope, key, 'is required');
  }
  const v = obj[key];
  if (typeof v === 'number') {
    checkNumber(v, scope, key, { integer: true, min: 1 });
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)) {
    return [v[0] as number, v[1] as number];
  }
  fail(scope, key, 'must be a positive integer or a pair [h, w] of them', v);
}

/** A non-empty array of positive integers (a shape). */
export function requireShape(obj: JsonObject, key: string, scope: ValidationScope): number[] {
  const v = obj[key];
  if (!(key in obj)) fail(scope, key, 'is required');
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)) {
    fail(scope, key, 'must be a non-empty array of positive integers', v);
  }
  return v as number[];
}
