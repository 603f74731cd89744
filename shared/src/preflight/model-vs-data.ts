import { ConfigError, DataError } from '../errors.js';
import type { Dataset, DatasetPair } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import { formatShape, sizeOf } from '../tensor/tensor.js';
import type { Problems } from './problems.js';

/**
 * What the model and the data must agree on, checked once both are known and before any training:
 * the first layer takes one sample of the data, and (for a classifier) the last layer has one unit
 * per class and every label is one the model can output. `classifier` is false for autoencoders and
 * VAEs, whose targets are their inputs. `where.file` (the config) prefixes the config fields named.
 */
export function checkModelAgainstData(network: Network, data: DatasetPair, classifier: boolean, problems: Problems, where: { file?: string } = {}): void {
  const input = network.inputShape;
  for (const split of [data.train, data.test]) {
    if (sizeOf(input) !== split.featureSize) {
      problems.add(new ConfigError('model.inputShape', `is ${formatShape(input)} (${sizeOf(input)} values per sample) but the samples of ${split.name} have shape ${formatShape(split.sampleShape)} (${split.featureSize} values)`, {
        ...where,
        hint: `make the first layer's inputShape hold one sample, e.g. ${formatShape(split.sampleShape)}`,
      }));
      break;
    }
  }
  if (!classifier) return;
  const units = sizeOf(network.outputShape);
  const classes = Math.max(data.train.classes, data.test.classes);
  if (units === classes) return;
  if (classes > units) {
    for (const split of [data.train, data.test]) {
      const at = firstLabelAtLeast(split, units);
      if (at === undefined) continue;
      const label = split.labelAt(at);
      const min = minLabel(data.train);
      const startsAtOne = min >= 1 && classes === units + 1;
      problems.add(new DataError(split.name, `sample ${at}: label ${label} is outside 0..${units - 1}, the classes the model outputs (its last layer has ${units} units)`, {
        context: { index: at, label },
        hint: startsAtOne
          ? `labels start at 1; gradmesh expects 0..${units - 1}: subtract 1 from every label`
          : `give the last layer ${classes} units (the data has labels up to ${classes - 1}), or fix the labels`,
      }));
      return;
    }
  }
  problems.add(new ConfigError('model.layers', `the last layer has ${units} units but the data has ${classes} classes (labels 0..${classes - 1} in ${data.train.name})`, {
    ...where,
    hint: `give the last layer ${classes} units, or set dataset.classes to ${units} if some classes are absent from the data`,
  }));
}

function firstLabelAtLeast(split: Dataset, limit: number): number | undefined {
  const labels = split.labels;
  for (let i = 0; i < labels.length; i++) if ((labels[i] as number) >= limit) return i;
  return undefined;
}

function minLabel(split: Dataset): number {
  const labels = split.labels;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < labels.length; i++) min = Math.min(min, labels[i] as number);
  return min;
}
