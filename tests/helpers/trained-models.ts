import { parseRunConfig } from '../../shared/src/config/run-config.js';
import type { Json } from '../../shared/src/config/validate.js';
import type { Dataset } from '../../shared/src/data/dataset.js';
import { createModel } from '../../shared/src/train/create-model.js';
import type { Model } from '../../shared/src/train/model.js';
import { syntheticClassification } from './synthetic.js';

/** Small models of every exportable kind over 6×6 synthetic samples of 3 classes (see trainedBriefly). */
export const EXPORT_MODELS = {
  mlp: { inputShape: [36], layers: [{ type: 'dense', units: 8, activation: 'leakyRelu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3 }] },
  cnn: {
    inputShape: [6, 6, 1],
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'conv2d', filters: 5, kernelSize: [2, 1], strides: [1, 2], padding: 'same', activation: 'elu' },
      { type: 'avgPool2d', poolSize: 2, padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: 3, activation: 'sigmoid' },
      { type: 'activation', activation: 'linear' },
    ],
  },
  batchNorm: {
    inputShape: [36],
    layers: [
      { type: 'reshape', targetShape: [6, 6, 1] },
      { type: 'conv2d', filters: 3, kernelSize: 3 },
      { type: 'batchNorm', momentum: 0.5 },
      { type: 'activation', activation: 'relu' },
      { type: 'flatten' },
      { type: 'dense', units: 7 },
      { type: 'batchNorm', momentum: 0.3, epsilon: 0.01 },
      { type: 'activation', activation: 'sigmoid' },
      { type: 'dense', units: 3 },
    ],
  },
  lstm: { inputShape: [6, 6], layers: [{ type: 'lstm', units: 5, returnSequences: true }, { type: 'simpleRnn', units: 4 }, { type: 'dense', units: 3 }] },
  gru: { inputShape: [6, 6], layers: [{ type: 'gru', units: 5, returnSequences: true }, { type: 'gru', units: 4 }, { type: 'dense', units: 3 }] },
} satisfies Record<string, Json>;

export type ExportModelName = keyof typeof EXPORT_MODELS;

/**
 * A model trained for a few steps (so its weights, moving statistics included, are no longer the
 * initializers), the data it saw and its flat inputs for a consumer to run.
 */
export async function trainedBriefly(which: ExportModelName, seed = 5): Promise<{ model: Model; data: Dataset; inputs: Float32Array }> {
  const data = syntheticClassification(96, 6, 3, seed);
  const config = parseRunConfig({
    seed,
    dataset: 'mnist',
    model: { kind: 'sequential', ...EXPORT_MODELS[which] } as unknown as Json,
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.01 },
    training: { epochs: 2, batchSize: 16 },
    backend: 'reference',
  });
  const model = await createModel(config);
  await model.fit(data);
  const order = Uint32Array.from({ length: data.count }, (_, i) => i);
  const inputs = new Float32Array(data.count * data.featureSize);
  data.gatherInputs(order, 0, data.count, inputs);
  return { model, data, inputs };
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
