import type { LayerActivation } from '../../layers/activation-op.js';
import { defaultAlpha } from '../../layers/activation-op.js';
import { toPair } from '../../layers/options.js';
import type { TrainedLayer } from '../trained-layers.js';
import { unsupported } from '../trained-layers.js';

/** One Keras layer of the topology: `class_name` and its `config` (snake_case, as Keras writes it). */
export interface KerasLayer {
  readonly class_name: string;
  readonly config: Record<string, unknown>;
}

const FORMAT = 'TensorFlow.js';

/**
 * Keras' name for a gradmesh activation, or a layer to append after a linear one: TF.js has no
 * `leaky_relu` activation string, so leakyRelu becomes a LeakyReLU layer. TF.js' ELU (string and
 * layer alike) knows only alpha = 1, so another alpha is refused.
 */
function activationOf(t: TrainedLayer, kind: LayerActivation, alpha: number | undefined): { activation: string; after: KerasLayer[] } {
  const a = alpha ?? defaultAlpha(kind);
  if (kind === 'leakyRelu') return { activation: 'linear', after: [{ class_name: 'LeakyReLU', config: { name: `${t.layer.name}_leaky_relu`, alpha: a } }] };
  if (kind === 'elu' && a !== 1) throw unsupported(FORMAT, t, `elu with alpha ${a}`, 'TF.js implements elu with alpha 1 only; use --format onnx');
  return { activation: kind, after: [] };
}

/**
 * The Keras layers one gradmesh layer becomes (its Keras weights are in keras-weights.ts). Same
 * semantics layer for layer: gradmesh follows Keras' NHWC layouts, 'same'/'valid' padding and
 * pooling that skips padded cells, so no layout op is needed.
 */
export function kerasLayers(t: TrainedLayer): KerasLayer[] {
  const s = t.spec;
  const name = t.layer.name;
  switch (s.type) {
    case 'dense': {
      const { activation, after } = activationOf(t, s.activation, s.alpha);
      return [{ class_name: 'Dense', config: { name, units: s.units, activation, use_bias: s.useBias } }, ...after];
    }
    case 'conv2d': {
      const { activation, after } = activationOf(t, s.activation, s.alpha);
      const config = {
        name, filters: s.filters, kernel_size: toPair(s.kernelSize), strides: toPair(s.strides), padding: s.padding,
        data_format: 'channels_last', dilation_rate: [1, 1], activation, use_bias: s.useBias,
      };
      return [{ class_name: 'Conv2D', config }, ...after];
    }
    case 'maxPool2d':
    case 'avgPool2d': {
      const poolSize = toPair(s.poolSize);
      const config = { name, pool_size: poolSize, strides: s.strides === undefined ? poolSize : toPair(s.strides), padding: s.padding, data_format: 'channels_last' };
      return [{ class_name: s.type === 'maxPool2d' ? 'MaxPooling2D' : 'AveragePooling2D', config }];
    }
    case 'flatten':
      return [{ class_name: 'Flatten', config: { name } }];
    case 'reshape':
      return [{ class_name: 'Reshape', config: { name, target_shape: [...s.targetShape] } }];
    case 'dropout':
      return [{ class_name: 'Dropout', config: { name, rate: s.rate } }];
    case 'batchNorm':
      return [{ class_name: 'BatchNormalization', config: { name, axis: -1, momentum: s.momentum, epsilon: s.epsilon, center: true, scale: true } }];
    case 'activation': {
      const { activation, after } = activationOf(t, s.activation, s.alpha);
      return after.length > 0 ? after : [{ class_name: 'Activation', config: { name, activation } }];
    }
    case 'simpleRnn':
      return [{ class_name: 'SimpleRNN', config: { name, units: s.units, activation: s.activation, use_bias: true, return_sequences: s.returnSequences } }];
    case 'lstm': {
      const config = {
        name, units: s.units, activation: s.activation, recurrent_activation: s.recurrentActivation, use_bias: true,
        unit_forget_bias: s.unitForgetBias, return_sequences: s.returnSequences,
      };
      return [{ class_name: 'LSTM', config }];
    }
    case 'gru':
      // gradmesh's GRU is Keras' reset_after=true (two bias rows); TF.js's GRUCell refuses reset_after=true.
      throw unsupported(FORMAT, t, 'GRU with reset_after=true (the only GRU gradmesh has)', 'TF.js implements only reset_after=false; export this model with --format onnx');
  }
}
