import { z } from 'zod';
import { parseWithSchema } from '../config/schema-errors.js';
import type { Json, ValidationScope } from '../config/validate.js';
import { child } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import { lossFromSpec } from '../losses/registry.js';
import { autoencoderFromSpec, autoencoderSpec } from './autoencoder.js';
import type { Network } from './network.js';
import { SequentialNetwork, sequentialSpec } from './sequential.js';
import { vaeFromSpec, vaeSpec } from './vae.js';

export const MODEL_KINDS = ['sequential', 'autoencoder', 'vae'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The `model` of a run config: one branch per kind (`kind` may be left out for a sequential model). */
export const modelSpec = z
  .discriminatedUnion('kind', [sequentialSpec, autoencoderSpec, vaeSpec], {
    error: (issue) => ((issue.code as string) === 'invalid_type' ? 'must be an object describing the model' : undefined),
  })
  .describe('The network: a sequential stack of layers, an autoencoder or a VAE.');

export type ModelSpec = z.output<typeof modelSpec>;

/**
 * Builds the network a config describes. Models are data: the same JSON builds the same network
 * (same parameter layout) in every process, which is how replicas of a run start identical.
 * `scope` is the config's root scope (for the file name in errors).
 */
export function buildNetwork(model: Json | undefined, loss: Json | undefined, scope: ValidationScope): Network {
  const modelScope = child(scope, 'model');
  const spec = parseWithSchema(modelSpec, model, modelScope);
  const file = scope.file === undefined ? {} : { file: scope.file };
  if (spec.kind === 'vae') {
    if (loss !== undefined && loss !== 'vae') {
      throw new ConfigError(child(scope, 'loss').path, 'a VAE always trains on reconstruction + KL; use "vae" or leave it out', { value: loss, ...file });
    }
    return vaeFromSpec(spec, modelScope);
  }
  if (loss === undefined) throw new ConfigError(child(scope, 'loss').path, 'is required (e.g. "softmaxCrossEntropy")', file);
  const lossFn = lossFromSpec(loss, child(scope, 'loss'));
  return spec.kind === 'autoencoder' ? autoencoderFromSpec(spec, lossFn, modelScope) : SequentialNetwork.fromSpec(spec, lossFn, modelScope);
}

export function modelKind(model: Json | undefined): ModelKind {
  const kind = typeof model === 'object' && model !== null && !Array.isArray(model) ? model['kind'] : undefined;
  return kind === 'autoencoder' || kind === 'vae' ? kind : 'sequential';
}
