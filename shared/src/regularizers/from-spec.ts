import { parseWithSchema } from '../config/schema-errors.js';
import { nonNegative, options, withHint } from '../config/schema-parts.js';
import type { Json, ValidationScope } from '../config/validate.js';
import type { RegularizerSpec } from './spec.js';

/**
 * A layer's regularizer, e.g. `{ "l2": 1e-4 }` or `{ "l1": 1e-5, "l2": 1e-4 }`. A missing
 * coefficient is 0; both must be finite and ≥ 0; at least one must be given (an empty object is
 * almost always a typo).
 */
export const regularizerSpec = options({ l1: nonNegative().optional(), l2: nonNegative().optional() }, 'a regularizer object such as { "l2": 0.0001 }')
  .superRefine((r, ctx) => {
    if (r.l1 === undefined && r.l2 === undefined) {
      ctx.addIssue({ code: 'custom', input: r, ...withHint('needs "l1", "l2" or both', 'e.g. { "l2": 0.0001 }; remove the regularizer to disable it') });
    }
  })
  .transform((r): RegularizerSpec => ({ l1: r.l1 ?? 0, l2: r.l2 ?? 0 }))
  .describe('Weight penalty l1·Σ|θ| + l2·Σθ².');

export function regularizerFromSpec(spec: Json, scope: ValidationScope): RegularizerSpec {
  return parseWithSchema(regularizerSpec, spec, scope);
}
