import type { RunConfig } from '../config/run-config.js';
import { ConfigError } from '../errors.js';
import type { Network } from '../model/network.js';
import { formatShape } from '../tensor/tensor.js';

/**
 * A regression model predicts one value per sample (the CSV's label column): its output must be [1]. Checked
 * when the model is built — before any data is batched — so a 3-unit last layer is one line naming the layer,
 * not a loss shape error at the first step.
 */
export function checkOutputForTask(config: RunConfig, network: Network): void {
  if (config.task !== 'regression') return;
  const shape = network.outputShape;
  if (shape.length === 1 && shape[0] === 1) return;
  const last = network.layers.length - 1;
  throw new ConfigError(`model.layers[${last}]`, `outputs ${formatShape(shape)} per sample, but a regression model predicts one value`, {
    ...(config.file === '(inline)' ? {} : { file: config.file }),
    hint: `give the last layer 1 unit (e.g. { "type": "dense", "units": 1 }), since "task" is "regression"`,
  });
}
