import { isObject, type RunConfig } from '@gradmesh/shared/internal';
import type { SyntheticSamples } from '../synthetic.js';
import { oneHot, scaledPixels } from '../synthetic.js';
import { tfjsModelFor } from './models.js';
import type { Tfjs } from './runtime.js';

export interface Trainer {
  /** One optimizer step on the whole batch. */
  step(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A TensorFlow.js training step on the ACTIVE backend: `model.trainOnBatch` on a fixed batch of
 * `samples`, the way a tfjs user trains batch by batch. trainOnBatch reads the loss back, so each
 * step has finished when its promise resolves — the same contract as a gradmesh step, which
 * returns its loss sum. The batch is the samples' first `batch` rows.
 */
export function tfjsTrainer(tf: Tfjs, config: RunConfig, samples: SyntheticSamples, batch: number): Trainer {
  const spec = config.model;
  const inputShape = isObject(spec) && Array.isArray(spec['inputShape']) ? (spec['inputShape'] as number[]) : [samples.featureSize];
  const model = tfjsModelFor(tf, config);
  const x = tf.tensor(scaledPixels(samples).subarray(0, batch * samples.featureSize), [batch, ...inputShape]);
  const y = tf.tensor2d(oneHot(samples).subarray(0, batch * samples.classes), [batch, samples.classes]);
  return {
    async step() {
      await model.trainOnBatch(x, y);
    },
    async dispose() {
      model.optimizer.dispose();
      model.dispose();
      tf.dispose([x, y]);
    },
  };
}
