import { z } from 'zod';
import { hinted, options, withHint } from '../config/schema-parts.js';

export const LOSS_NAMES = ['softmaxCrossEntropy', 'categoricalCrossEntropy', 'meanSquaredError', 'mse', 'meanAbsoluteError', 'mae', 'binaryCrossEntropy'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

/** Losses of a real-valued target: the only ones a `"task": "regression"` run accepts. */
export const REGRESSION_LOSSES: readonly LossName[] = ['meanSquaredError', 'mse', 'meanAbsoluteError', 'mae'];

/** Losses whose input may be logits rather than probabilities. */
const TAKES_LOGITS: readonly LossName[] = ['binaryCrossEntropy', 'categoricalCrossEntropy'];

const unknownLoss = hinted('is not a known loss', `known: ${LOSS_NAMES.join(', ')}`);

const lossName = z.enum(LOSS_NAMES, { error: (issue) => (issue.input === undefined ? undefined : unknownLoss) });

/**
 * A loss: a name (`"mse"`) or `{ "type": ..., "fromLogits": ... }`. `fromLogits` applies to the
 * cross-entropies: binaryCrossEntropy switches to its stable logit form, and categoricalCrossEntropy
 * with fromLogits is softmaxCrossEntropy (Keras' `from_logits=True`).
 */
export const lossSpec = z.union(
  [
    lossName,
    options({ type: lossName, fromLogits: z.boolean().optional() }).superRefine((loss, ctx) => {
      if (loss.fromLogits !== undefined && !TAKES_LOGITS.includes(loss.type)) {
        const hint = loss.type === 'softmaxCrossEntropy' ? 'softmaxCrossEntropy always takes logits' : 'remove it';
        ctx.addIssue({ code: 'custom', path: ['fromLogits'], input: loss.fromLogits, ...withHint(`does not apply to ${loss.type}`, hint) });
      }
    }),
  ],
  {
    error: (issue) =>
      typeof issue.input === 'string' ? unknownLoss : `must be a loss name (${LOSS_NAMES.join(', ')}) or { "type", "fromLogits" }`,
  },
);

export type LossSpec = z.output<typeof lossSpec>;

/** The run config's `loss`: a VAE model's loss is always "vae" (reconstruction + KL) or left out. */
export const runLossSpec = z
  .union([z.literal('vae'), lossSpec], { error: (issue) => (typeof issue.input === 'string' ? unknownLoss : undefined) })
  .describe('Loss: a name or { "type", "fromLogits" }; "vae" (or nothing) for a VAE model.');
