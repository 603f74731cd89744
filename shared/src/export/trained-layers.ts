import { parseWithSchema } from '../config/schema-errors.js';
import { ConfigError, InternalError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import type { LayerSpec } from '../layers/registry.js';
import { SequentialNetwork, sequentialSpec } from '../model/sequential.js';
import type { Shape } from '../tensor/tensor.js';
import type { Model } from '../train/model.js';

/** One layer of a trained model as an exporter needs it: its validated spec (defaults filled in), shapes and weights. */
export interface TrainedLayer {
  /** Position in `model.layers`, for errors. */
  readonly index: number;
  readonly spec: LayerSpec;
  readonly layer: Layer;
  /** Parameter values by gradmesh parameter name (`kernel`, `movingMean`, …), in gradmesh's layout. */
  readonly weights: ReadonlyMap<string, Float32Array>;
}

/** A sequential model laid out for export. */
export interface TrainedStack {
  readonly name: string;
  readonly inputShape: Shape;
  readonly layers: readonly TrainedLayer[];
  /**
   * The loss applies a softmax the layers do not (softmaxCrossEntropy trains on logits): gradmesh's
   * predict returns probabilities, so an exported model ends with that softmax too.
   */
  readonly appendSoftmax: boolean;
}

/**
 * The layers of `model` paired with their specs and weights. Only sequential models export: an
 * autoencoder's or a VAE's outputs (reconstruction, sampled latent) are not what a consumer of a
 * classifier-shaped graph expects.
 */
export function trainedStack(model: Model, format: string): TrainedStack {
  if (model.kind !== 'sequential' || !(model.network instanceof SequentialNetwork)) {
    throw new ConfigError('model.kind', `export to ${format} supports sequential models; this checkpoint holds an ${model.kind === 'vae' ? 'VAE' : model.kind}`, { value: model.kind });
  }
  const spec = parseWithSchema(sequentialSpec, model.config.model, { path: 'model' });
  const layers = model.network.layers.map((layer, index): TrainedLayer => {
    const weights = new Map<string, Float32Array>();
    for (const p of model.params.entries) if (p.layer === layer.name) weights.set(p.spec.name, p.value.data);
    return { index, spec: spec.layers[index]!, layer, weights };
  });
  return { name: model.config.name, inputShape: spec.inputShape, layers, appendSoftmax: model.network.loss.name === 'softmaxCrossEntropy' };
}

/** A layer's weight by gradmesh name; its absence is a gradmesh bug, not the user's. */
export function weight(layer: TrainedLayer, name: string): Float32Array {
  const w = layer.weights.get(name);
  if (w === undefined) throw new InternalError(`layer "${layer.layer.name}" has no parameter "${name}"`);
  return w;
}

/** The error for a layer (or a setting of it) a format cannot express. */
export function unsupported(format: string, layer: TrainedLayer, what: string, hint?: string): ConfigError {
  return new ConfigError(`model.layers[${layer.index}]`, `layer "${layer.layer.name}" (${layer.spec.type}): ${what} has no ${format} counterpart`, hint ? { hint } : {});
}
