import type { Kernels } from '../kernels/kernels.js';
import type { ParameterEntry, ParameterStore } from '../model/parameters.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { addRegularizationGradient, applyRegularization, regularizationPenalty } from '../regularizers/apply.js';
import { clipByGlobalNorm, clipByValue } from './clip.js';
import { InternalError } from '../errors.js';
import { cachedUpdatePlan, type UpdateParts, type UpdateRange } from './update-parts.js';

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

/** One step's update, applied part by part as the caller's gradients become final (beginUpdate). */
export interface UpdateInParts {
  /** The step's regularization penalty (the float64 sum applyUpdate returns), from the values before the step. */
  readonly penalty: number;
  /** Applies the step to the parameters of part `part` (ranges[part]); each part exactly once. */
  apply(part: number): void;
}

/**
 * Note [update as the buckets arrive]
 * applyUpdate with the gradient of each part applied as soon as THAT part's slots hold their final sums, not once
 * every slot does: the worker updates the first layers' parameters while the last layers' gradients are still
 * being all-reduced, so the next step's forward can start on them (Note [the next step starts before the
 * all-reduce ends] in worker/src/replica.ts). Each part runs, for its own segments only, what applyUpdate runs over
 * all of them — mean (× 1/totalCount), regularization gradient, clipping by value, the optimizer, the running
 * statistics — and every one of those is element-wise, so the parts in any order give applyUpdate's bits. The
 * optimizer counts the step once, here (Optimizer.beginStep); the penalty is computed here, from the values before
 * any part changes them, with applyUpdate's float64 sums. Clipping by global norm needs every gradient first, so
 * it cannot be applied this way (InternalError: the caller must use applyUpdate then).
 *
 * A step begun here and not completed (the caller found a later part's sums non-finite, or failed) leaves the
 * parameters and the optimizer in between: the caller restores the state it kept before the step.
 */
export function beginUpdate(
  store: ParameterStore,
  optimizer: Optimizer,
  lr: number,
  totalCount: number,
  options: UpdateOptions,
  kernels: Kernels,
  ranges: readonly UpdateRange[],
): UpdateInParts {
  if (options.clipNorm !== undefined) throw new InternalError('beginUpdate: clipping by global norm needs every gradient before any part (use applyUpdate)');
  const plan = cachedUpdatePlan(store, ranges);
  const inv = 1 / totalCount;
  const penalty = regularizationPenalty(store.trainable);
  const update = optimizer.beginStep(store.trainable, lr);
  const clipValue = options.clipValue;
  const applied = new Uint8Array(ranges.length);
  return {
    penalty,
    apply: (part) => {
      if (applied[part] !== 0) throw new InternalError(`beginUpdate: part ${part} applied twice in one step`);
      applied[part] = 1;
      const indices = plan.trainable[part] as readonly number[];
      for (const i of indices) {
        const s = store.trainable[i] as (typeof store.trainable)[number];
        kernels.scale(s.grad, inv, s.grad);
        addRegularizationGradient(s);
        if (clipValue !== undefined) clipByValue([s.grad], clipValue);
      }
      update(indices);
      for (const i of plan.running[part] as readonly number[]) updateRunning(store.running[i] as ParameterEntry, inv);
    },
  };
}
