import type { Model } from '../../train/model.js';
import { trainedStack } from '../trained-layers.js';
import { kerasLayers, type KerasLayer } from './keras-layers.js';
import { kerasWeights, type KerasWeight } from './keras-weights.js';

/** The weights file model.json points to (one file: a model of gradmesh's size never needs TF.js' 4 MB shards). */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

/** A TensorFlow.js Layers model: the contents of model.json and of its one weights file. */
export interface TfjsArtifacts {
  readonly modelJson: Record<string, unknown>;
  readonly weightData: Buffer;
}

/**
 * `model` in the TensorFlow.js Layers format (what `tf.loadLayersModel` reads): a Keras Sequential
 * topology starting with an InputLayer, and the weights as little-endian float32 in manifest order.
 * A softmaxCrossEntropy model gets its softmax as a last Activation layer, so it outputs the
 * probabilities `gradmesh predict` prints.
 */
export function exportTfjs(model: Model): TfjsArtifacts {
  const stack = trainedStack(model, 'TensorFlow.js');
  const layers: KerasLayer[] = [{ class_name: 'InputLayer', config: { name: 'input', batch_input_shape: [null, ...stack.inputShape], dtype: 'float32', sparse: false } }];
  const weights: KerasWeight[] = [];
  for (const t of stack.layers) {
    layers.push(...kerasLayers(t));
    weights.push(...kerasWeights(t));
  }
  if (stack.appendSoftmax) layers.push({ class_name: 'Activation', config: { name: 'softmax_output', activation: 'softmax' } });
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'gradmesh',
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: stack.name, layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
  };
  return { modelJson, weightData: littleEndianFloats(weights.map((w) => w.data)) };
}

/** The arrays end to end as little-endian float32, whatever the host's byte order. */
function littleEndianFloats(arrays: readonly Float32Array[]): Buffer {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const out = Buffer.alloc(total * 4);
  let at = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++, at += 4) out.writeFloatLE(a[i]!, at);
  return out;
}
