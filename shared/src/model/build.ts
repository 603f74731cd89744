import type { Json, ValidationScope } from '../config/validate.js';
import { child, oneOf, requireObject } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import { lossFromSpec } from '../losses/registry.js';
import { autoencoderFromSpec } from './autoencoder.js';
import type { Network } from './network.js';
import { SequentialNetwork } from './sequential.js';
import { vaeFromSpec } from './vae.js';

export const MODEL_KINDS = ['sequential', 'autoencoder', 'vae'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/**
 * Builds the network a config describes. Models are data: the same JSON builds the same network
 * (same parameter layout) in every process, which is how replicas of a run start identical.
 * `scope` is the config's root scope (for the file name in errors).
 */
export function buildNetwork(model: Json | undefined, loss: Json | undefined, scope: ValidationScope): Network {
  const modelScope = child(scope, 'model');
  const spec = requireObject(model, modelScope, 'an object describing the model');
  const kind = oneOf(spec, 'kind', modelScope, MODEL_KINDS, 'sequential');
  if (kind === 'vae') {
    if (loss !== undefined && loss !== 'vae') {
      throw new ConfigError(child(scope, 'loss').path, 'a VAE always trains on reconstruction + KL; use "vae" or leave it out', { value: loss });
    }
    return vaeFromSpec(spec, modelScope);
  }
  if (loss === undefined) throw new ConfigError(child(scope, 'loss').path, 'is required (e.g. "softmaxCrossEntropy")');
  const lossFn = lossFromSpec(loss, child(scope, 'loss'));
  return kind === 'autoencoder' ? autoencoderFromSpec(spec, lossFn, modelScope) : SequentialNetwork.fromSpec(spec, lossFn, modelScope);
}

export function modelKind(model: Json | undefined): ModelKind {
  const kind = typeof model === 'object' && model !== null && !Array.isArray(model) ? model['kind'] : undefined;
  return kind === 'autoencoder' || kind === 'vae' ? kind : 'sequential';
}
