import { z } from 'zod';
import { parseWithSchema } from '../config/schema-errors.js';
import { hinted, options, tagged } from '../config/schema-parts.js';
import type { Json, ValidationScope } from '../config/validate.js';
import { INITIALIZER_NAMES, type InitializerSpec } from './spec.js';

const KNOWN = [...INITIALIZER_NAMES, 'constant'];
const knownHint = `known initializers: ${KNOWN.join(', ')}`;

/**
 * An initializer: a name (`"heNormal"`), the same as an object (`{ "type": "heNormal" }`), or
 * `{ "type": "constant", "value": 0.1 }`. Objects naming an initializer become the name.
 */
export const initializerSpec = z
  .union(
    [
      z.enum(INITIALIZER_NAMES),
      tagged(
        'type',
        [options({ type: z.literal('constant'), value: z.number() }), options({ type: z.enum(INITIALIZER_NAMES) })],
        'initializer',
        'an initializer name or object',
      ).transform((spec): InitializerSpec => (spec.type === 'constant' ? spec : spec.type)),
    ],
    {
      error: (issue) => {
        if (issue.input === 'constant') return hinted('is not a known initializer', 'a constant needs a value: { "type": "constant", "value": 0.1 }');
        if (typeof issue.input === 'string') return hinted('is not a known initializer', knownHint);
        return hinted('must be an initializer name or object', `e.g. "glorotUniform" or { "type": "constant", "value": 0 }; ${knownHint}`);
      },
    },
  )
  .describe('How the parameter is initialised.');

export function initializerFromSpec(spec: Json, scope: ValidationScope): InitializerSpec {
  return parseWithSchema(initializerSpec, spec, scope);
}
