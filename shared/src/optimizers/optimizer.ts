import type { Tensor } from '../tensor/tensor.js';
import type { RegularizerSpec } from '../regularizers/spec.js';

/**
 * One trainable parameter range as the trainer hands it to the optimizer: views into the flat
 * parameter and gradient buffers. `grad` already holds the per-sample MEAN gradient (the trainer
 * divides the summed gradients by the global sample count before calling anything here).
 *
 * `regularizer` is carried for `applyRegularization` (regularizers/apply.ts), which the trainer
 * runs before `step`; optimizers ignore it, so a penalty is never applied twice.
 */
export type ParamSegment = {
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly regularizer?: RegularizerSpec;
};

/**
 * One step applied group by group (Note [update in parts] in train/update.ts): the caller learns after
 * each group that its segments are final for this step, and can start using them while the rest update.
 */
export interface SegmentGroups {
  /** Indices into the step's segments: every segment in exactly one group, groups in any order; a group may be empty. */
  readonly groups: readonly (readonly number[])[];
  /** Called after every segment in groups[i] (values and optimizer state) holds this step's value, in the order of `groups`. */
  afterGroup(index: number): void;
}

/**
 * An optimizer updates the trainable segments in place from their gradients.
 *
 * Invariants every implementation keeps:
 * - State tensors are allocated once, in the constructor, through `backend.allocPersistent`
 *   (a WebAssembly backend can only address its own memory); `step` never allocates.
 * - `segments` must match, in number and sizes, the `trainableSizes` given to the constructor.
 * - `stepCount` counts completed steps; `step` increments it first, so the first update sees
 *   t = 1 (the 1-based count Adam's bias correction needs).
 * - A step in groups counts ONE step, and every group sees the same t: each segment's update reads only
 *   its own value, gradient and state, so the groups' result equals the whole step's bit for bit.
 */
export interface Optimizer {
  /** The spec's `type`, e.g. `adam`; stored in checkpoints to refuse restoring foreign state. */
  readonly name: string;
  /**
   * Updates every segment in place with learning rate `lr` (already scheduled by the trainer); with
   * `groups`, group by group in their order, calling `afterGroup` after each. The segments and the groups
   * are checked before any state is touched (ShapeError).
   */
  step(segments: readonly ParamSegment[], lr: number, groups?: SegmentGroups): void;
  /**
   * The same step, its groups applied whenever the caller is ready (Note [update as the buckets arrive] in
   * train/update.ts): counts the step now (every group sees this t) and returns the function that updates the
   * segments at `indices`. The caller applies every segment exactly once before the next step, or restores the
   * state it kept (a step abandoned half way leaves the optimizer in between).
   */
  beginStep(segments: readonly ParamSegment[], lr: number): (indices: readonly number[]) => void;
  /**
   * The live state tensors, in a deterministic order with stable names (e.g. `adam.m.0`).
   * A checkpoint writer reads them; a restore writes into them and then calls `setStepCount`.
   */
  stateTensors(): { name: string; tensor: Tensor }[];
  readonly stepCount: number;
  setStepCount(n: number): void;
}
