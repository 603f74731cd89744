import type { Backend } from '../kernels/backend.js';
import type { Random } from '../random.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import type { InitializerSpec } from '../initializers/spec.js';
import type { RegularizerSpec } from '../regularizers/spec.js';

/**
 * How the model updates a parameter after a step.
 * - `gradient`: trained by the optimizer. During backward the layer writes ∂L/∂θ into the
 *   parameter's slot, where L is the loss SUMMED over the micro-batch's samples (not averaged):
 *   slots of micro-batches and workers are added in a fixed order and divided by the global sample
 *   count once, so N workers compute exactly what one process computes.
 * - `running`: a running statistic (BatchNorm's moving mean/variance). In a training forward the
 *   layer writes `count × batchStatistic` into the slot; after summing slots the model sets
 *   θ ← momentum·θ + (1 − momentum)·slot/totalCount. This travels through the all-reduce with the
 *   gradients, so replicas keep identical statistics.
 */
export type ParamUpdate =
  | { readonly kind: 'gradient'; readonly regularizer?: RegularizerSpec }
  | { readonly kind: 'running'; readonly momentum: number };

export interface ParamSpec {
  /** e.g. `kernel`, `bias`, `gamma`, `movingMean`. Unique within the layer. */
  readonly name: string;
  readonly shape: Shape;
  readonly init: InitializerSpec;
  readonly update: ParamUpdate;
}

export interface ForwardContext {
  readonly backend: Backend;
  /** Training mode: dropout active, BatchNorm uses batch statistics. */
  readonly training: boolean;
  /** Random stream of this micro-batch (dropout masks, VAE noise), derived from (seed, step, micro-batch). */
  readonly rng: Random;
  /**
   * Training only, when someone overlaps communication with backward: called after each layer's backward with
   * the layer's range [start, end) of the flat slot buffer, whose values are then final for this micro-batch
   * (Note [gradients final] in train/overlap/backward-progress.ts).
   */
  readonly onSlotsFinal?: (start: number, end: number) => void;
  /**
   * Training only, when the step was handed out before its parameters were final: called before each layer's
   * forward with the layer's range [start, end) of the flat parameter buffer; returns once those values are final
   * (Note [parameters final] in train/overlap/parameter-gates.ts).
   */
  readonly beforeLayer?: (start: number, end: number) => void;
}

/**
 * A layer: forward and backward side by side. Shapes are per sample (no batch dimension); the
 * tensors passed to forward/backward carry the batch as their first dimension.
 */
export interface Layer {
  /** The spec's `type`, e.g. `dense`. */
  readonly type: string;
  /** Unique within the model, e.g. `dense_1`. */
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[];
  /**
   * Hands the layer its parameter values and update slots: views into the model's flat buffers,
   * in `params` order. Called once before the first forward (and again if buffers move).
   */
  bind(values: readonly Tensor[], slots: readonly Tensor[]): void;
  /** x: [batch, ...inputShape] → [batch, ...outputShape]. Output memory comes from ctx.backend.alloc. */
  forward(x: Tensor, ctx: ForwardContext): Tensor;
  /**
   * dy = ∂L/∂y for the last forward. Overwrites the `gradient` slots with ∂L/∂θ and returns
   * ∂L/∂x, or null when `needInputGradient` is false (the first layer skips that work).
   */
  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null;
}
