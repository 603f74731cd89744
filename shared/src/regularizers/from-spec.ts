import { ConfigError } from '../errors.js';
import { type Json, type ValidationScope, optionalNumber, rejectUnknownKeys, requireObject } from '../config/validate.js';
import type { RegularizerSpec } from './spec.js';

/**
 * Validates a layer's regularizer spec, e.g. `{ "l2": 1e-4 }` or `{ "l1": 1e-5, "l2": 1e-4 }`.
 * A missing coefficient is 0; both must be finite and ≥ 0; at least one must be given (an empty
 * object is almost always a typo).
 */
export function regularizerFromSpec(spec: Json, scope: ValidationScope): RegularizerSpec {
  const obj = requireObject(spec, scope, 'a regularizer object such as { "l2": 0.0001 }');
  rejectUnknownKeys(obj, ['l1', 'l2'], scope);
  if (!('l1' in obj) && !('l2' in obj)) {
    throw new ConfigError(scope.path || '(root)', 'needs "l1", "l2" or both', {
      value: obj,
      hint: 'e.g. { "l2": 0.0001 }; remove the regularizer to disable it',
      ...(scope.file ? { file: scope.file } : {}),
    });
  }
  return {
    l1: optionalNumber(obj, 'l1', scope, 0, { min: 0 }),
    l2: optionalNumber(obj, 'l2', scope, 0, { min: 0 }),
  };
}
