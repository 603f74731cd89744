import type { Kernels } from '../kernels/kernels.js';
import type { ParameterStore } from '../model/parameters.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { applyRegularization } from '../regularizers/apply.js';
import { clipByGlobalNorm, clipByValue } from './clip.js';

export interface UpdateOptions {
  readonly clipNorm: number | undefined;
  readonly clipValue: number | undefined;
}

/** The update applied in parts (see applyUpdate). */
export interface UpdateParts {
  /** Element ranges [start, end) of the flat parameter buffer (store.values), tiling it; any order. */
  readonly ranges: readonly { readonly start: number; readonly end: number }[];
  /** Called after every parameter in ranges[i] holds this step's final value, in the order of `ranges`. */
  afterPart(index: number): void;
}

export interface UpdateResult {
  /** Σ l1·|θ| + l2·θ² over regularised parameters (added to the reported training loss). */
  readonly penalty: number;
  /** Global gradient norm before clipping, when clipNorm is set. */
  readonly gradNorm: number | undefined;
}

/**
 * The optimizer step every process applies after the slots hold SUMS over the global batch
 * (summed over micro-batches and, in a cluster, over workers in rank order):
 *   1. gradients ← slots / totalCount (the mean over the global batch, whatever its split);
 *   2. + regularizer gradients;  3. clipping (by global norm, then by value);  4. optimizer;
 *   5. running statistics ← m·θ + (1 − m)·slot/totalCount.
 * Identical inputs give identical outputs in every process: this is what keeps replicas equal.
 *
 * Callers apply it only to FINITE slots (the NaN/Inf guard, Note [NaN/Inf guard] in loop/training-loop.ts):
 * every step of it writes state — the optimizer's moments and step counter (Adam's bias correction), the
 * parameters and, through 5., the running statistics — so skipping a step means not calling it at all.
 */
export function applyUpdate(
  store: ParameterStore,
  optimizer: Optimizer,
  lr: number,
  totalCount: number,
  options: UpdateOptions,
  kernels: Kernels,
  parts?: UpdateParts,
): UpdateResult {
  const inv = 1 / totalCount;
  for (const s of store.trainable) kernels.scale(s.grad, inv, s.grad);
  const penalty = applyRegularization(store.trainable);
  let gradNorm: number | undefined;
  if (options.clipNorm !== undefined) gradNorm = clipByGlobalNorm(store.trainable.map((s) => s.grad), options.clipNorm, kernels).norm;
  if (options.clipValue !== undefined) clipByValue(store.trainable.map((s) => s.grad), options.clipValue);
  optimizer.step(store.trainable, lr);
  for (const e of store.running) {
    if (e.spec.update.kind !== 'running') continue;
    const m = e.spec.update.momentum;
    const v = e.value.data;
    const observed = e.slot.data;
    for (let i = 0; i < v.length; i++) v[i] = m * v[i]! + (1 - m) * (observed[i]! * inv);
  }
  if (parts !== undefined) for (let i = 0; i < parts.ranges.length; i++) parts.afterPart(i);
  return { penalty, gradNorm };
}
