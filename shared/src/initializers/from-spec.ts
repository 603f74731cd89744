import { ConfigError } from '../errors.js';
import { type Json, type ValidationScope, rejectUnknownKeys, requireNumber } from '../config/validate.js';
import { INITIALIZER_NAMES, type InitializerSpec } from './spec.js';

const KNOWN = [...INITIALIZER_NAMES, 'constant'];

/**
 * Validates an initializer spec: a name (`"heNormal"`), the same as an object
 * (`{ "type": "heNormal" }`), or `{ "type": "constant", "value": 0.1 }`.
 */
export function initializerFromSpec(spec: Json, scope: ValidationScope): InitializerSpec {
  const fileOption = scope.file ? { file: scope.file } : {};
  const where = scope.path || '(root)';
  if (typeof spec === 'string') {
    if ((INITIALIZER_NAMES as readonly string[]).includes(spec)) return spec as InitializerSpec;
    const hint =
      spec === 'constant' ? 'a constant needs a value: { "type": "constant", "value": 0.1 }' : `known initializers: ${KNOWN.join(', ')}`;
    throw new ConfigError(where, 'is not a known initializer', { value: spec, hint, ...fileOption });
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ConfigError(where, 'must be an initializer name or object', {
      value: spec,
      hint: `e.g. "glorotUniform" or { "type": "constant", "value": 0 }; known: ${KNOWN.join(', ')}`,
      ...fileOption,
    });
  }
  const type = spec['type'];
  if (type === 'constant') {
    rejectUnknownKeys(spec, ['type', 'value'], scope);
    return { type: 'constant', value: requireNumber(spec, 'value', scope) };
  }
  if (typeof type === 'string' && (INITIALIZER_NAMES as readonly string[]).includes(type)) {
    rejectUnknownKeys(spec, ['type'], scope);
    return type as InitializerSpec;
  }
  throw new ConfigError(scope.path ? `${scope.path}.type` : 'type', 'is not a known initializer', {
    value: type,
    hint: `known initializers: ${KNOWN.join(', ')}`,
    ...fileOption,
  });
}
