import type { TrainedLayer } from '../trained-layers.js';
import { weight } from '../trained-layers.js';

/** A weight as TF.js names and shapes it, with its values in Keras' layout. */
export interface KerasWeight {
  /** `<layer>/<keras name>`: TF.js matches weights to layers by this name. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const KERAS_NAMES: Readonly<Record<string, string>> = {
  kernel: 'kernel', bias: 'bias', recurrentKernel: 'recurrent_kernel',
  gamma: 'gamma', beta: 'beta', movingMean: 'moving_mean', movingVariance: 'moving_variance',
};

/**
 * The Keras weights of a layer. gradmesh stores every parameter in Keras' layout already (dense
 * kernel [in, out]; conv kernel [kh, kw, in, out]; recurrent kernel [features, gates·units] and
 * recurrent_kernel [units, gates·units] in Keras' gate order i, f, c, o; BatchNorm's four vectors),
 * verified against the layer files and, end to end, by tests that run the exported model in TF.js.
 * The one difference is the LSTM's forget bias (Note [unit forget bias] in layers/lstm.ts): gradmesh
 * adds the +1 inside the cell, Keras stores it in the bias, so it is added to the forget block here.
 */
export function kerasWeights(t: TrainedLayer): KerasWeight[] {
  const name = t.layer.name;
  return t.layer.params.map((p) => {
    let data = weight(t, p.name);
    if (t.spec.type === 'lstm' && p.name === 'bias' && t.spec.unitForgetBias) data = withForgetBias(data, t.spec.units, 1);
    return { name: `${name}/${KERAS_NAMES[p.name] ?? p.name}`, shape: [...p.shape], data };
  });
}

/** A copy of an LSTM bias [4U] (gate blocks i, f, c, o) with `add` added to the forget block. */
export function withForgetBias(bias: Float32Array, units: number, add: number): Float32Array {
  const out = bias.slice();
  for (let j = units; j < 2 * units; j++) out[j]! += add;
  return out;
}
