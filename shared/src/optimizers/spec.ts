import { z } from 'zod';
import { fraction, nonNegative, options, positive, tagged, withHint } from '../config/schema-parts.js';
import { ADAGRAD_DEFAULTS } from './adagrad.js';
import { ADAM_DEFAULTS, ADAMW_DEFAULTS } from './adam.js';
import { RMSPROP_DEFAULTS } from './rmsprop.js';
import { SGD_DEFAULTS } from './sgd.js';

/**
 * The `optimizer` of a run config, e.g. `{ "type": "adam", "learningRate": 0.001, "beta1": 0.9 }`.
 * Each type declares its options with their defaults, so the validated spec is complete and the
 * registry only constructs.
 */
const learningRate = (fallback: number) => positive().default(fallback).describe('Base learning rate (before the schedule).');
/** Decay rates of running averages: 1 would never forget. */
const belowOne = () => z.number().min(0).lt(1);

const adamOptions = (weightDecay: number) => ({
  beta1: belowOne().default(ADAM_DEFAULTS.beta1),
  beta2: belowOne().default(ADAM_DEFAULTS.beta2),
  epsilon: positive().default(ADAM_DEFAULTS.epsilon),
  weightDecay: nonNegative().default(weightDecay),
});

export const optimizerSpec = tagged(
  'type',
  [
    options({
      type: z.literal('sgd'),
      learningRate: learningRate(0.01),
      momentum: fraction().default(SGD_DEFAULTS.momentum),
      nesterov: z.boolean().default(SGD_DEFAULTS.nesterov),
      weightDecay: nonNegative().default(SGD_DEFAULTS.weightDecay),
    }).superRefine((sgd, ctx) => {
      if (sgd.nesterov && sgd.momentum === 0) {
        ctx.addIssue({ code: 'custom', path: ['nesterov'], input: true, ...withHint('needs a momentum > 0', 'set "momentum" (e.g. 0.9) or drop "nesterov"') });
      }
    }),
    options({ type: z.literal('adam'), learningRate: learningRate(0.001), ...adamOptions(ADAM_DEFAULTS.weightDecay) }),
    options({ type: z.literal('adamw'), learningRate: learningRate(0.001), ...adamOptions(ADAMW_DEFAULTS.weightDecay) }),
    options({
      type: z.literal('adagrad'),
      learningRate: learningRate(0.001),
      initialAccumulatorValue: nonNegative().default(ADAGRAD_DEFAULTS.initialAccumulatorValue),
      epsilon: positive().default(ADAGRAD_DEFAULTS.epsilon),
    }),
    options({
      type: z.literal('rmsprop'),
      learningRate: learningRate(0.001),
      rho: belowOne().default(RMSPROP_DEFAULTS.rho),
      momentum: fraction().default(RMSPROP_DEFAULTS.momentum),
      epsilon: positive().default(RMSPROP_DEFAULTS.epsilon),
      centered: z.boolean().default(RMSPROP_DEFAULTS.centered),
    }),
  ],
  'optimizer',
  'an optimizer object such as { "type": "adam", "learningRate": 0.001 }',
).describe('The optimizer and its options.');

export type OptimizerSpec = z.output<typeof optimizerSpec>;
