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
 * An optimizer updates the trainable segments in place from their gradients.
 *
 * Invariants every implementation keeps:
 * - State tensors are allocated once, in the constructor, through `backend.allocPersistent`
 *   (a WebAssembly backend can only address its own memory); `step` never allocates.
 * - `segments` must match, in number and sizes, the `trainableSizes` given to the constructor.
 * - `stepCount` counts completed steps; `step` increments it first, so the first update sees
 *   t = 1 (the 1-based count Adam's bias correction needs).
 */
export interface Optimizer {
  /** The spec's `type`, e.g. `adam`; stored in checkpoints to refuse restoring foreign state. */
  readonly name: string;
  /** Updates every segment in place with learning rate `lr` (already scheduled by the trainer). */
  step(segments: readonly ParamSegment[], lr: number): void;
  /**
   * The live state tensors, in a deterministic order with stable names (e.g. `adam.m.0`).
   * A checkpoint writer reads them; a restore writes into them and then calls `setStepCount`.
   */
  stateTensors(): { name: string; tensor: Tensor }[];
  readonly stepCount: number;
  setStepCount(n: number): void;
}
