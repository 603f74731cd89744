import type { Kernels } from '../kernels/kernels.js';
import type { ParameterEntry, ParameterStore } from '../model/parameters.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { applyRegularization } from '../regularizers/apply.js';
import { clipByGlobalNorm, clipByValue } from './clip.js';
import { cachedUpdatePlan, type UpdateParts } from './update-parts.js';

export type { UpdateParts, UpdatePlan, UpdateRange } from './update-parts.js';
export { planUpdateParts } from './update-parts.js';

export interface UpdateOptions {
  readonly clipNorm: number | undefined;
  readonly clipValue: number | undefined;
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
 *
 * Note [update in parts]: with `parts`, steps 4 and 5 run part by part, in the order of `parts.ranges`,
 * and `parts.afterPart(i)` follows part i, when every parameter whose first element lies in range i
 * (trainable values, optimizer state, running statistics) holds this step's final value. That lets the
 * worker start the next step's forward pass on the layers already updated. Steps 1–3 still run over ALL
 * segments first, in today's order: the global norm needs every gradient, and the penalty must be the
 * same float64 sum. Splitting steps 4–5 changes no bit, because every element's update reads only its
 * own value, gradient, state and the step's (lr, t, 1/totalCount) — the optimizer counts the step once
 * for all parts (Optimizer.step with groups). The ranges are validated, and the split planned, before any
 * state is touched: ranges that do not tile the buffer, or that cut a parameter, throw a ShapeError. The
 * plan is cached per ranges array (cachedUpdatePlan): pass the same array every step to plan once.
 * An exception thrown by afterPart propagates and leaves the later parts NOT updated (a broken step).
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
  // Planned (and so validated) before step 1 writes the first gradient: bad ranges change nothing.
  const split = parts === undefined ? undefined : { parts, plan: cachedUpdatePlan(store, parts.ranges) };
  const inv = 1 / totalCount;
  for (const s of store.trainable) kernels.scale(s.grad, inv, s.grad);
  const penalty = applyRegularization(store.trainable);
  let gradNorm: number | undefined;
  if (options.clipNorm !== undefined) gradNorm = clipByGlobalNorm(store.trainable.map((s) => s.grad), options.clipNorm, kernels).norm;
  if (options.clipValue !== undefined) clipByValue(store.trainable.map((s) => s.grad), options.clipValue);
  if (split === undefined) {
    optimizer.step(store.trainable, lr);
    for (const e of store.running) updateRunning(e, inv);
  } else {
    const { parts, plan } = split;
    optimizer.step(store.trainable, lr, {
      groups: plan.trainable,
      afterGroup: (part) => {
        for (const i of plan.running[part] as readonly number[]) updateRunning(store.running[i] as ParameterEntry, inv);
        parts.afterPart(part);
      },
    });
  }
  return { penalty, gradNorm };
}

/** Step 5 for one running-statistics entry: θ ← m·θ + (1 − m)·observed/totalCount. */
function updateRunning(e: ParameterEntry, inv: number): void {
  if (e.spec.update.kind !== 'running') return;
  const m = e.spec.update.momentum;
  const v = e.value.data;
  const observed = e.slot.data;
  for (let i = 0; i < v.length; i++) v[i] = m * v[i]! + (1 - m) * (observed[i]! * inv);
}
