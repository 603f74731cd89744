import type { Json, ValidationScope } from '../config/validate.js';
import { parseWithSchema } from '../config/schema-errors.js';
import { binaryCrossEntropy } from './binary-cross-entropy.js';
import { categoricalCrossEntropy } from './categorical-cross-entropy.js';
import type { Loss } from './loss.js';
import { meanAbsoluteError } from './mean-absolute-error.js';
import { meanSquaredError } from './mean-squared-error.js';
import { softmaxCrossEntropy } from './softmax-cross-entropy.js';
import { lossSpec, type LossName } from './spec.js';

/** The loss of a config, validated against `lossSpec` (see spec.ts). `scope.path` is where the spec sits. */
export function lossFromSpec(spec: Json, scope: ValidationScope): Loss {
  const parsed = parseWithSchema(lossSpec, spec, scope);
  return typeof parsed === 'string' ? build(parsed, false) : build(parsed.type, parsed.fromLogits ?? false);
}

function build(name: LossName, fromLogits: boolean): Loss {
  switch (name) {
    case 'softmaxCrossEntropy': return softmaxCrossEntropy;
    case 'categoricalCrossEntropy': return fromLogits ? softmaxCrossEntropy : categoricalCrossEntropy;
    case 'meanSquaredError':
    case 'mse': return meanSquaredError;
    case 'meanAbsoluteError':
    case 'mae': return meanAbsoluteError;
    case 'binaryCrossEntropy': return binaryCrossEntropy(fromLogits);
  }
}
