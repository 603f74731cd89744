import type { Json, ValidationScope } from '../config/validate.js';
import { fieldPath, isObject, optionalBoolean, rejectUnknownKeys, requireString } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import { binaryCrossEntropy } from './binary-cross-entropy.js';
import { categoricalCrossEntropy } from './categorical-cross-entropy.js';
import type { Loss } from './loss.js';
import { meanSquaredError } from './mean-squared-error.js';
import { softmaxCrossEntropy } from './softmax-cross-entropy.js';

const LOSS_NAMES = ['softmaxCrossEntropy', 'categoricalCrossEntropy', 'meanSquaredError', 'mse', 'binaryCrossEntropy'] as const;
type LossName = (typeof LOSS_NAMES)[number];

/**
 * The loss of a config: a name (`"mse"`) or `{ "type": ..., "fromLogits": ... }`.
 * `fromLogits` applies to the cross-entropies: binaryCrossEntropy switches to its stable logit
 * form, and categoricalCrossEntropy with fromLogits is softmaxCrossEntropy (Keras'
 * `from_logits=True`). `scope.path` is where the spec sits, e.g. `training.loss`.
 */
export function lossFromSpec(spec: Json, scope: ValidationScope): Loss {
  if (typeof spec === 'string') return build(checkName(spec, scope, scope.path), false);
  if (!isObject(spec)) {
    throw new ConfigError(scope.path, `must be a loss name (${LOSS_NAMES.join(', ')}) or { "type", "fromLogits" }`, withFile(scope, { value: spec }));
  }
  rejectUnknownKeys(spec, ['type', 'fromLogits'], scope);
  const name = checkName(requireString(spec, 'type', scope), scope, fieldPath(scope, 'type'));
  if ('fromLogits' in spec && !['binaryCrossEntropy', 'categoricalCrossEntropy'].includes(name)) {
    throw new ConfigError(fieldPath(scope, 'fromLogits'), `does not apply to ${name}`, withFile(scope, {
      value: spec['fromLogits'],
      hint: name === 'softmaxCrossEntropy' ? 'softmaxCrossEntropy always takes logits' : 'remove it',
    }));
  }
  return build(name, optionalBoolean(spec, 'fromLogits', scope, false));
}

function build(name: LossName, fromLogits: boolean): Loss {
  switch (name) {
    case 'softmaxCrossEntropy': return softmaxCrossEntropy;
    case 'categoricalCrossEntropy': return fromLogits ? softmaxCrossEntropy : categoricalCrossEntropy;
    case 'meanSquaredError':
    case 'mse': return meanSquaredError;
    case 'binaryCrossEntropy': return binaryCrossEntropy(fromLogits);
  }
}

function checkName(name: string, scope: ValidationScope, field: string): LossName {
  if (!(LOSS_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(field, 'is not a known loss', withFile(scope, { value: name, hint: `known: ${LOSS_NAMES.join(', ')}` }));
  }
  return name as LossName;
}

function withFile<T extends object>(scope: ValidationScope, options: T): T & { file?: string } {
  return scope.file === undefined ? options : { ...options, file: scope.file };
}
