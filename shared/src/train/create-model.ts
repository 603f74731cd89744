import type { RunConfig } from '../config/run-config.js';
import { createReferenceBackend } from '../kernels/reference/backend.js';
import { modelKind } from '../model/build.js';
import { availableCpus } from './cpu-quota.js';
import { LocalExecutor } from './local-executor.js';
import { Model } from './model.js';

export interface CreateModelOptions {
  /** Overrides config.backend.type. */
  readonly backend?: 'reference' | 'pool' | 'native';
  /** Overrides config.backend.threads and GRADMESH_THREADS. */
  readonly threads?: number;
}

/** Pool threads: option, then GRADMESH_THREADS, then config, then the cores available within the CPU quota (cpu-quota.ts). */
export function resolveThreads(config: RunConfig, options: CreateModelOptions = {}): number {
  if (options.threads !== undefined) return options.threads;
  const env = process.env['GRADMESH_THREADS'];
  if (env !== undefined && /^[1-9][0-9]*$/.test(env)) return Number(env);
  return config.backend.threads ?? availableCpus();
}

/** Builds a ready-to-train Model for a validated config on the chosen backend. */
export async function createModel(config: RunConfig, options: CreateModelOptions = {}): Promise<Model> {
  const type = options.backend ?? config.backend.type;
  const targetsAreInputs = modelKind(config.model) !== 'sequential';
  if (type === 'pool' || type === 'native') {
    const { createPoolModel } = await import('../kernels/pool/create-pool-model.js');
    return createPoolModel(config, { threads: resolveThreads(config, options), targetsAreInputs, kernels: type === 'native' ? 'native' : 'wasm' });
  }
  const backend = createReferenceBackend();
  return new Model(config, {
    backend,
    executor: (network, store) => new LocalExecutor(network, backend, store, { seed: config.seed, microBatch: config.training.microBatch, targetsAreInputs }),
  });
}
