import { z } from 'zod';
import { fraction, nonNegativeInt, options, positive, positiveInt, withHint } from '../config/schema-parts.js';

/**
 * The `schedule` of a run config, e.g. `{ "type": "cosine", "decaySteps": "run", "alpha": 0.01, "warmupSteps": 500 }`
 * or `{ "type": "step", "everyEpochs": 10, "gamma": 0.5 }`. `warmupSteps` is accepted on every type;
 * `{ "type": "constant", "warmupSteps": 100 }` is warm-up alone.
 *
 * A decay's length may be given in steps, in epochs, or as `"run"`: lengths in epochs and over the run
 * are turned into steps by `resolveSchedule` once the run's length is known, so a schedule keeps its
 * shape when `--epochs` changes the length of the run.
 */
const warmupSteps = nonNegativeInt().default(0).describe('Steps of linear warm-up to the base learning rate before the curve starts (0: none).');

const decayLength = {
  decaySteps: z
    .union([positiveInt(), z.literal('run')], { error: 'must be a positive integer or "run"' })
    .optional()
    .describe('Length of the decay in optimizer steps, or "run": the whole run after warm-up.'),
  decayEpochs: positiveInt().optional().describe('Length of the decay in epochs (instead of decaySteps).'),
};

/** Exactly one of two keys; the error names the first. */
function exactlyOne(first: string, second: string, example: string) {
  return (value: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
    if ((value[first] === undefined) === (value[second] === undefined)) {
      ctx.addIssue({ code: 'custom', path: [first], input: value[first], ...withHint(`exactly one of "${first}" and "${second}" must be given`, `e.g. ${example}`) });
    }
  };
}

export const scheduleSpec = z
  .discriminatedUnion(
    'type',
    [
      options({ type: z.literal('constant'), warmupSteps }),
      options({
        type: z.literal('step'),
        warmupSteps,
        gamma: positive().describe('Factor applied at each boundary.'),
        everySteps: positiveInt().optional(),
        everyEpochs: positiveInt().optional(),
      }).superRefine(exactlyOne('everySteps', 'everyEpochs', '{ "type": "step", "everyEpochs": 10, "gamma": 0.5 }')),
      options({
        type: z.literal('exponential'),
        warmupSteps,
        decayRate: positive(),
        ...decayLength,
        staircase: z.boolean().default(false),
      }).superRefine(exactlyOne('decaySteps', 'decayEpochs', '{ "type": "exponential", "decayRate": 0.5, "decaySteps": "run" }')),
      options({
        type: z.literal('cosine'),
        warmupSteps,
        ...decayLength,
        alpha: fraction().default(0).describe('Floor of the curve as a fraction of the base learning rate.'),
      }).superRefine(exactlyOne('decaySteps', 'decayEpochs', '{ "type": "cosine", "decaySteps": "run" }')),
    ],
    { error: (issue) => ((issue.code as string) === 'invalid_type' ? 'must be a schedule object such as { "type": "cosine", "decaySteps": "run" }' : undefined) },
  )
  .describe('Learning-rate schedule: optional linear warm-up, then one decay curve.');

/** A validated schedule spec (defaults applied); lengths may still be in epochs or "run". */
export type Schedule = z.output<typeof scheduleSpec>;
