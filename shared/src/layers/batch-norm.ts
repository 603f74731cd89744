import type { z } from 'zod';
import { fraction, positive } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { ParamBinding, saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { layerSpec, requireInputRank } from './options.js';

export interface BatchNormOptions {
  /** Weight of the old moving statistic per update (Keras default 0.99). */
  readonly momentum: number;
  /** Added to the variance before the square root (Keras default 1e-3). */
  readonly epsilon: number;
}

const GAMMA = 0, BETA = 1, MOVING_MEAN = 2, MOVING_VARIANCE = 3;

/**
 * Batch normalisation over the last axis (channels): every other position of every sample is a
 * row of the [M, C] view. Training uses the batch's statistics; inference the moving ones.
 *
 * Note [moving statistics]: a training forward writes count·mean and count·variance (count =
 * samples in the micro-batch) into the `running` slots of movingMean/movingVariance; the model
 * sums slots over micro-batches and workers and sets θ ← momentum·θ + (1 − momentum)·Σslot/Σcount.
 * The mean so combined is exactly the global batch mean; the variance is the sample-weighted mean
 * of the micro-batches' variances (it leaves out the spread between micro-batch means, which is
 * what per-replica BatchNorm does too). The variance is the BIASED one (divide by M), as Keras
 * uses for moving_variance; PyTorch would use the unbiased one here.
 */
export class BatchNorm implements Layer {
  readonly type = 'batchNorm';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly momentum: number;
  readonly epsilon: number;
  readonly #binding: ParamBinding;
  #saved: { x: Tensor; mean: Tensor; variance: Tensor; training: boolean } | undefined;

  constructor(name: string, inputShape: Shape, options: BatchNormOptions) {
    this.name = name;
    this.inputShape = inputShape;
    this.outputShape = inputShape;
    this.momentum = options.momentum;
    this.epsilon = options.epsilon;
    const C = [inputShape[inputShape.length - 1]!];
    const running = { kind: 'running', momentum: options.momentum } as const;
    this.params = [
      { name: 'gamma', shape: C, init: 'ones', update: { kind: 'gradient' } },
      { name: 'beta', shape: C, init: 'zeros', update: { kind: 'gradient' } },
      { name: 'movingMean', shape: C, init: 'zeros', update: running },
      { name: 'movingVariance', shape: C, init: 'ones', update: running },
    ];
    this.#binding = new ParamBinding(name, this.params);
  }

  bind(values: readonly Tensor[], slots: readonly Tensor[]): void {
    this.#binding.bind(values, slots);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const k = ctx.backend.kernels;
    const b = this.#binding;
    const rows = this.#rows(x);
    // The batch-norm kernels write every element of their outputs (Note [unfilled outputs]).
    const out = ctx.backend.allocUninitialized(rows.shape);
    if (ctx.training) {
      const mean = ctx.backend.allocUninitialized(b.value(GAMMA).shape);
      const variance = ctx.backend.allocUninitialized(b.value(GAMMA).shape);
      k.batchNormTrain(rows, b.value(GAMMA), b.value(BETA), this.epsilon, out, mean, variance);
      const count = x.dim(0);
      k.scale(mean, count, b.slot(MOVING_MEAN));
      k.scale(variance, count, b.slot(MOVING_VARIANCE));
      this.#saved = { x: rows, mean, variance, training: true };
    } else {
      k.batchNormInfer(rows, b.value(GAMMA), b.value(BETA), b.value(MOVING_MEAN), b.value(MOVING_VARIANCE), this.epsilon, out);
      this.#saved = { x: rows, mean: b.value(MOVING_MEAN), variance: b.value(MOVING_VARIANCE), training: false };
    }
    return out.reshape(x.shape);
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const s = saved(this.#saved, this.name);
    const rowsDy = this.#rows(dy);
    const dx = s.training ? this.#backwardTraining(rowsDy, s, ctx) : this.#backwardInference(rowsDy, s, ctx);
    return needInputGradient ? dx.reshape(dy.shape) : null;
  }

  /** Batch statistics depend on every row, so dx carries the two extra mean terms (see the kernel). */
  #backwardTraining(dy: Tensor, s: { x: Tensor; mean: Tensor; variance: Tensor }, ctx: ForwardContext): Tensor {
    const b = this.#binding;
    const dx = ctx.backend.allocUninitialized(dy.shape);
    ctx.backend.kernels.batchNormBackward(dy, s.x, b.value(GAMMA), s.mean, s.variance, this.epsilon, dx, b.slot(GAMMA), b.slot(BETA));
    return dx;
  }

  /**
   * With fixed statistics the layer is a per-channel affine map y = γ·x̂ + β, x̂ = (x − μ)/σ:
   * dx = γ·dy/σ, dγ = Σ dy·x̂, dβ = Σ dy. Both x̂ and γ·dy/σ are batchNormInfer with a zero
   * shift, so this runs on any backend's kernels (e.g. fine-tuning with frozen statistics).
   */
  #backwardInference(dy: Tensor, s: { x: Tensor; mean: Tensor; variance: Tensor }, ctx: ForwardContext): Tensor {
    const k = ctx.backend.kernels;
    const b = this.#binding;
    const channels = b.value(GAMMA).shape;
    const ones = ctx.backend.alloc(channels);
    k.fill(ones, 1);
    const zeros = ctx.backend.alloc(channels);
    const xhat = ctx.backend.alloc(s.x.shape);
    k.batchNormInfer(s.x, ones, zeros, s.mean, s.variance, this.epsilon, xhat);
    k.mul(dy, xhat, xhat);
    k.biasGrad(xhat, b.slot(GAMMA));
    k.biasGrad(dy, b.slot(BETA));
    const dx = ctx.backend.alloc(dy.shape);
    k.batchNormInfer(dy, b.value(GAMMA), zeros, zeros, s.variance, this.epsilon, dx);
    return dx;
  }

  #rows(t: Tensor): Tensor {
    const C = this.inputShape[this.inputShape.length - 1]!;
    return t.reshape([t.size / C, C]);
  }
}

/** `{ "type": "batchNorm", "momentum": 0.99, "epsilon": 0.001 }`. */
export const batchNormSpec = layerSpec('batchNorm', {
  momentum: fraction().default(0.99).describe('Weight of the old moving statistics in each update.'),
  epsilon: positive().default(1e-3),
});

export function fromSpec(spec: z.output<typeof batchNormSpec>, inputShape: Shape, name: string, scope: ValidationScope): BatchNorm {
  if (inputShape.length === 0) requireInputRank('batchNorm', name, inputShape, 1, scope, 'batchNorm normalises the last axis; its input needs at least one');
  return new BatchNorm(name, inputShape, { momentum: spec.momentum, epsilon: spec.epsilon });
}
