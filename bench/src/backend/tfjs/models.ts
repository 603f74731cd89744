import { ConfigError, isObject, type Json, type JsonObject, type RunConfig } from '@gradmesh/shared/internal';
import type { Tfjs } from './runtime.js';

type LayersModel = import('@tensorflow/tfjs').Sequential;
type TfLayer = Parameters<LayersModel['add']>[0];

/**
 * The TensorFlow.js (tf.layers) equivalent of a gradmesh sequential model spec, compiled with the
 * same loss and optimizer, so both libraries train the same network on the same shapes. Only what
 * the benchmark's example configs use is translated; anything else is a ConfigError naming the
 * field, never a silently different network. Initialisers are left at the tfjs defaults: they
 * change values, not the work per step.
 *
 * Choices that matter for equal work: recurrent layers get recurrentActivation 'sigmoid'
 * explicitly (tfjs-layers defaults to 'hardSigmoid', gradmesh to 'sigmoid'); the loss is
 * softmax cross-entropy from logits, as gradmesh's fused `softmaxCrossEntropy`.
 */
export function tfjsModelFor(tf: Tfjs, config: RunConfig): LayersModel {
  const spec = config.model;
  const where = (field: string) => `model.${field}`;
  if (!isObject(spec) || spec['kind'] !== 'sequential') {
    throw new ConfigError('model.kind', 'the TensorFlow.js comparison supports sequential models only', { value: isObject(spec) ? spec['kind'] : spec, file: config.file });
  }
  const inputShape = numbers(spec['inputShape'], where('inputShape'), config.file);
  const layers = spec['layers'];
  if (!Array.isArray(layers)) throw new ConfigError(where('layers'), 'must be an array', { file: config.file });
  const model = tf.sequential();
  layers.forEach((layer, i) => {
    if (!isObject(layer)) throw new ConfigError(where(`layers[${i}]`), 'must be an object', { file: config.file });
    model.add(tfjsLayer(tf, layer, i === 0 ? inputShape : undefined, where(`layers[${i}]`), config.file));
  });
  model.compile({ optimizer: tfjsOptimizer(tf, config), loss: tfjsLoss(tf, config) });
  return model;
}

function tfjsLayer(tf: Tfjs, layer: JsonObject, inputShape: number[] | undefined, path: string, file: string): TfLayer {
  const first = inputShape ? { inputShape } : {};
  const activation = (fallback: string) => tfjsActivation(layer['activation'] ?? fallback, `${path}.activation`, file);
  const pair = (key: string, fallback: number): [number, number] => {
    const v = layer[key] ?? fallback;
    if (typeof v === 'number') return [v, v];
    const [h, w] = numbers(v, `${path}.${key}`, file);
    return [h ?? 1, w ?? h ?? 1];
  };
  const useBias = layer['useBias'] !== false;
  switch (layer['type']) {
    case 'dense':
      return tf.layers.dense({ ...first, units: layer['units'] as number, activation: activation('linear'), useBias });
    case 'conv2d':
      return tf.layers.conv2d({
        ...first,
        filters: layer['filters'] as number,
        kernelSize: pair('kernelSize', 1),
        strides: pair('strides', 1),
        padding: layer['padding'] === 'same' ? 'same' : 'valid',
        activation: activation('linear'),
        useBias,
      });
    case 'maxPool2d':
    case 'avgPool2d': {
      const poolSize = pair('poolSize', 2);
      const options = { ...first, poolSize, strides: layer['strides'] === undefined ? poolSize : pair('strides', 1), padding: layer['padding'] === 'same' ? ('same' as const) : ('valid' as const) };
      return layer['type'] === 'maxPool2d' ? tf.layers.maxPooling2d(options) : tf.layers.averagePooling2d(options);
    }
    case 'flatten':
      return tf.layers.flatten(first);
    case 'dropout':
      return tf.layers.dropout({ ...first, rate: layer['rate'] as number });
    case 'activation':
      return tf.layers.activation({ ...first, activation: activation('linear') });
    case 'reshape':
      return tf.layers.reshape({ ...first, targetShape: numbers(layer['targetShape'], `${path}.targetShape`, file) });
    case 'lstm':
    case 'simpleRnn': {
      const options = {
        ...first,
        units: layer['units'] as number,
        returnSequences: layer['returnSequences'] === true,
        activation: activation('tanh'),
        // tfjs defaults to 'orthogonal', which warns about slowness at LSTM 128's size; the
        // initial values do not change the work per step.
        recurrentInitializer: 'glorotUniform' as const,
      };
      if (layer['type'] === 'simpleRnn') return tf.layers.simpleRNN(options);
      const recurrentActivation = tfjsActivation(layer['recurrentActivation'] ?? 'sigmoid', `${path}.recurrentActivation`, file);
      return tf.layers.lstm({ ...options, recurrentActivation });
    }
    default:
      throw new ConfigError(`${path}.type`, 'has no TensorFlow.js counterpart in the benchmark', { value: layer['type'], file });
  }
}

type TfActivation = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'elu';

function tfjsActivation(name: Json, path: string, file: string): TfActivation {
  if (name === 'linear' || name === 'relu' || name === 'sigmoid' || name === 'tanh' || name === 'softmax' || name === 'elu') return name;
  throw new ConfigError(path, 'has no TensorFlow.js counterpart in the benchmark', { value: name, file });
}

function tfjsOptimizer(tf: Tfjs, config: RunConfig) {
  const spec = config.optimizer;
  const type = isObject(spec) ? spec['type'] : spec;
  const lr = isObject(spec) && typeof spec['learningRate'] === 'number' ? spec['learningRate'] : 0.001;
  if (type === 'adam') return tf.train.adam(lr, 0.9, 0.999, 1e-8);
  if (type === 'sgd') return tf.train.sgd(lr);
  throw new ConfigError('optimizer.type', 'has no TensorFlow.js counterpart in the benchmark', { value: type ?? null, file: config.file });
}

function tfjsLoss(tf: Tfjs, config: RunConfig) {
  const spec = config.loss;
  const type = isObject(spec) ? spec['type'] : spec;
  if (type === 'softmaxCrossEntropy') {
    return (yTrue: import('@tensorflow/tfjs').Tensor, yPred: import('@tensorflow/tfjs').Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred);
  }
  throw new ConfigError('loss', 'has no TensorFlow.js counterpart in the benchmark', { value: type ?? null, file: config.file });
}

function numbers(v: Json | undefined, path: string, file: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new ConfigError(path, 'must be an array of numbers', { value: v, file });
  return v as number[];
}
