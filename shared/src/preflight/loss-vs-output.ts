import { ConfigError } from '../errors.js';
import type { Json } from '../config/validate.js';
import { isObject } from '../config/validate.js';

/** Layers that change no values, so the activation before them is still the model's output. */
const PASS_THROUGH = new Set(['dropout', 'flatten', 'reshape']);

/**
 * The loss must suit what the last layer emits (a validated sequential classifier's config):
 * - softmaxCrossEntropy (and categoricalCrossEntropy with fromLogits) take logits: a softmax or
 *   sigmoid on the last layer would be applied twice, and training stalls;
 * - categoricalCrossEntropy takes probabilities: the last layer must end in softmax;
 * - binaryCrossEntropy scores every output as its own yes/no question. On one-hot targets of more
 *   than two classes it trains, but towards no single class, and the run reports no accuracy
 *   (issue 17: "trains silently"); from probabilities it needs a sigmoid, from logits none.
 * `classes` is the data's; units ≠ classes is checkModelAgainstData's problem, not repeated here.
 */
export function checkLossAgainstOutput(model: Json, loss: Json | undefined, classes: number, where: { file?: string } = {}): ConfigError | undefined {
  const name = typeof loss === 'string' ? loss : isObject(loss) && typeof loss['type'] === 'string' ? loss['type'] : undefined;
  const fromLogits = isObject(loss) && loss['fromLogits'] === true;
  const last = lastActivation(model);
  if (name === 'binaryCrossEntropy' && classes > 2) {
    return new ConfigError('loss', `binaryCrossEntropy scores each of the ${classes} outputs as a separate yes/no, so a one-of-${classes} classifier learns no class and reports no accuracy`, {
      ...where,
      value: loss,
      hint: 'use "softmaxCrossEntropy" (last layer without activation) for one class out of several',
    });
  }
  if (last === undefined) return undefined;
  const takesLogits = name === 'softmaxCrossEntropy' || (name === 'categoricalCrossEntropy' && fromLogits) || (name === 'binaryCrossEntropy' && fromLogits);
  if (takesLogits && (last === 'softmax' || last === 'sigmoid')) {
    return new ConfigError('loss', `${name}${fromLogits ? ' with fromLogits' : ''} takes logits, but the last layer applies ${last}, so it would be applied twice`, {
      ...where,
      value: loss,
      hint: `remove the last layer's ${last} activation, or use ${last === 'softmax' ? '"categoricalCrossEntropy" (probabilities)' : '{ "type": "binaryCrossEntropy" } without fromLogits'}`,
    });
  }
  if (name === 'categoricalCrossEntropy' && !fromLogits && last !== 'softmax') {
    return new ConfigError('loss', `categoricalCrossEntropy takes probabilities, but the last layer ends in ${last}, not softmax`, {
      ...where,
      value: loss,
      hint: 'add "activation": "softmax" to the last layer, or use "softmaxCrossEntropy", which takes logits',
    });
  }
  if (name === 'binaryCrossEntropy' && !fromLogits && last !== 'sigmoid') {
    return new ConfigError('loss', `binaryCrossEntropy takes probabilities, but the last layer ends in ${last}, not sigmoid`, {
      ...where,
      value: loss,
      hint: 'add "activation": "sigmoid" to the last layer, or use { "type": "binaryCrossEntropy", "fromLogits": true }',
    });
  }
  return undefined;
}

/** The activation a sequential model's output passes last ('linear' for a plain dense layer), when known. */
function lastActivation(model: Json): string | undefined {
  if (!isObject(model) || !Array.isArray(model['layers'])) return undefined;
  const layers = model['layers'].filter((l) => !(isObject(l) && typeof l['type'] === 'string' && PASS_THROUGH.has(l['type'])));
  const last = layers[layers.length - 1];
  if (!isObject(last)) return undefined;
  if (last['type'] === 'activation') return typeof last['activation'] === 'string' ? last['activation'] : undefined;
  if (last['type'] === 'dense') return typeof last['activation'] === 'string' ? last['activation'] : 'linear';
  return undefined;
}
