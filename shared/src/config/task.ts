import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { REGRESSION_LOSSES, type LossName } from '../losses/spec.js';
import type { Json } from './validate.js';

/**
 * What a run learns from its label column: `classification` (class indices or names → one-hot targets,
 * accuracy and a confusion matrix) or `regression` (a real number per sample → MAE, RMSE, R²).
 */
export const TASKS = ['classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];

export const taskSpec = z
  .enum(TASKS)
  .default('classification')
  .describe('classification (integer or string class labels) or regression (a real-valued target column; loss meanSquaredError or meanAbsoluteError).');

/**
 * Note [regression needs a sequential model, a CSV and an elementwise loss]: only a CSV label column can
 * hold real-valued targets (MNIST and IDX labels are class indices), only a sequential model predicts a
 * target (autoencoders and VAEs reproduce their input), and a cross-entropy of a real number is not a
 * loss. Each is refused here, where the config enters, instead of as a shape error at the first step.
 */
export function checkTask(task: Task, config: { dataset: Json; model: Json; loss: Json | undefined }, file: string | undefined): void {
  if (task !== 'regression') return;
  const where = file === undefined ? {} : { file };
  const dataset = config.dataset;
  const format = typeof dataset === 'object' && dataset !== null && !Array.isArray(dataset) ? dataset['format'] : dataset;
  if (format !== 'csv') {
    throw new ConfigError('task', `is "regression" but dataset is ${format === 'mnist' ? '"mnist"' : `of format ${JSON.stringify(format)}`}, whose labels are class indices`, {
      ...where, hint: 'regression targets come from a CSV column: dataset { "format": "csv", "labelColumn": … }',
    });
  }
  const model = config.model;
  const kind = typeof model === 'object' && model !== null && !Array.isArray(model) ? model['kind'] : undefined;
  if (kind === 'autoencoder' || kind === 'vae') {
    throw new ConfigError('task', `is "regression" but the model is ${kind === 'vae' ? 'a VAE' : 'an autoencoder'}, which reproduces its input`, { ...where, hint: 'use a sequential model whose last layer has 1 unit' });
  }
  const loss = config.loss;
  const name = typeof loss === 'string' ? loss : typeof loss === 'object' && loss !== null && !Array.isArray(loss) ? loss['type'] : undefined;
  if (!REGRESSION_LOSSES.includes(name as LossName)) {
    throw new ConfigError('loss', `${loss === undefined ? 'is required' : `${JSON.stringify(name)} does not fit`} for "task": "regression"`, {
      ...where, ...(loss === undefined ? {} : { value: loss }), hint: `use one of ${REGRESSION_LOSSES.join(', ')}`,
    });
  }
}
