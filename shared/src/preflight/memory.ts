import { ConfigError } from '../errors.js';
import type { Json } from '../config/validate.js';
import type { TrainingConfig } from '../config/run-config.js';
import { createReferenceBackend } from '../kernels/reference/backend.js';
import type { Backend } from '../kernels/backend.js';
import { DEFAULT_POOL_PERSISTENT_BYTES, scratchBytesPerThread } from '../kernels/pool/layout.js';
import type { Network } from '../model/network.js';
import { optimizerFromSpec } from '../optimizers/registry.js';
import { sizeOf } from '../tensor/tensor.js';

/** Arena allocations are 64-byte aligned (kernels/wasm/arena.ts). */
const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export interface PoolMemoryEstimate {
  /** Bytes the persistent arena must hold: parameters, update slots, optimizer state, one slot buffer per extra micro-batch, evaluation slots. */
  readonly persistentBytes: number;
  readonly persistentCapacity: number;
  /** A lower bound on one thread's scratch for a micro-batch: every layer's output and its gradient, and the input. */
  readonly scratchBytes: number;
  readonly scratchCapacity: number;
  /** Micro-batches of one worker's share of a step (each gets its own slot buffer). */
  readonly microBatches: number;
}

/**
 * The pool backend's memory for a run, worked out from the model and the batch before anything is
 * allocated. Note [batch memory]: the pool's persistent arena (512 MiB) holds the parameters, their
 * update slots and the optimizer state once, plus one full slot buffer per micro-batch of a step
 * beyond the first (Note [thread-count independence] in pool-executor.ts: micro-batch m writes buffer
 * m, summed in order afterwards). That term grows with batchSize / microBatch and is what ran out as
 * "persistent arena is full" (issue 17); the estimate counts the same allocations, 64-byte aligned,
 * so it is exact up to the arena's alignment of its base. The scratch estimate is a LOWER bound
 * (forward outputs and their gradients only; kernels take more workspace, e.g. im2col), so a refusal
 * is certain to be right and a run the check lets through can still exhaust scratch in a kernel.
 */
export function estimatePoolMemory(network: Network, optimizer: Json, training: TrainingConfig, options: { trainCount: number; world: number; threads: number }): PoolMemoryEstimate {
  const slotBytes = align(4 * network.parameterCount);
  const stepSamples = Math.min(training.batchSize, Math.max(1, options.trainCount));
  const share = Math.ceil(stepSamples / options.world);
  const microBatches = Math.ceil(share / training.microBatch);
  const persistentBytes = 2 * slotBytes + optimizerStateBytes(network, optimizer) + (microBatches - 1) * slotBytes + slotBytes;
  const perSample = network.layers.reduce((sum, layer) => sum + 2 * sizeOf(layer.outputShape), sizeOf(network.inputShape));
  const evalBatch = Math.max(training.microBatch, 128);
  const scratchBytes = Math.max(4 * perSample * Math.min(training.microBatch, share), 4 * (perSample / 2) * evalBatch);
  return { persistentBytes, persistentCapacity: DEFAULT_POOL_PERSISTENT_BYTES, scratchBytes, scratchCapacity: scratchBytesPerThread(options.threads), microBatches };
}

/** The estimate, refused as a ConfigError naming training.batchSize (or training.microBatch) when it does not fit. */
export function checkBatchMemory(estimate: PoolMemoryEstimate, training: TrainingConfig, world: number, where: { file?: string } = {}): ConfigError | undefined {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const perWorker = world > 1 ? ` per worker (${world} workers)` : '';
  if (estimate.persistentBytes > estimate.persistentCapacity) {
    const fits = Math.max(1, Math.floor(estimate.persistentCapacity / estimate.persistentBytes * estimate.microBatches)) * training.microBatch * world;
    return new ConfigError('training.batchSize', `needs about ${mib(estimate.persistentBytes)} of gradient buffers${perWorker}: ${estimate.microBatches} micro-batches of ${training.microBatch} each keep their own copy of the gradients, and the pool holds ${mib(estimate.persistentCapacity)}`, {
      ...where,
      value: training.batchSize,
      hint: `use a batchSize of at most about ${fits}, or a larger training.microBatch (fewer, larger micro-batches)`,
    });
  }
  if (estimate.scratchBytes > estimate.scratchCapacity) {
    return new ConfigError('training.microBatch', `needs at least ${mib(estimate.scratchBytes)} of activations per thread, but each pool thread has ${mib(estimate.scratchCapacity)}`, {
      ...where,
      value: training.microBatch,
      hint: 'use a smaller training.microBatch (or fewer --threads, which gives each more scratch)',
    });
  }
  return undefined;
}

/**
 * Bytes of optimizer state for the network's trainable parameters. The optimizer is built with one
 * float per trainable segment on a counting backend: the count per segment is the number of state
 * families (Adam: m and v), whatever the optimizer — no table here to fall out of date.
 */
function optimizerStateBytes(network: Network, spec: Json): number {
  const segments: number[] = [];
  for (const layer of network.layers) for (const p of layer.params) if (p.update.kind === 'gradient') segments.push(sizeOf(p.shape));
  if (segments.length === 0) return 0;
  const reference = createReferenceBackend();
  let allocated = 0;
  const counting: Backend = { ...reference, allocPersistent: (shape) => ((allocated += sizeOf(shape)), reference.allocPersistent(shape)) };
  optimizerFromSpec(spec, { path: 'optimizer' }, counting, segments.map(() => 1));
  const families = allocated / segments.length;
  return families * segments.reduce((sum, n) => sum + align(4 * n), 0);
}
