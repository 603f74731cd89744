import { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { layerSpec } from './options.js';

/**
 * Inverted dropout: in training each element is kept with probability 1 − rate and scaled by
 * 1/(1 − rate), so the expected activation is unchanged and inference is the identity (no
 * rescaling at test time). The mask is drawn from ctx.rng, one draw per element in index order,
 * so a micro-batch's mask is a pure function of its (seed, step, micro-batch) stream.
 */
export class Dropout implements Layer {
  readonly type = 'dropout';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];
  readonly rate: number;
  /** The last training forward's mask (0 or 1/(1 − rate)), or null when forward was the identity. */
  #mask: Tensor | null | undefined;

  constructor(name: string, inputShape: Shape, rate: number) {
    this.name = name;
    this.inputShape = inputShape;
    this.outputShape = inputShape;
    this.rate = rate;
  }

  bind(): void {}

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    if (!ctx.training || this.rate === 0) {
      this.#mask = null;
      return x;
    }
    const mask = ctx.backend.alloc(x.shape);
    const keep = 1 / (1 - this.rate);
    const M = mask.data;
    for (let i = 0; i < M.length; i++) M[i] = ctx.rng.next() < this.rate ? 0 : keep;
    const y = ctx.backend.alloc(x.shape);
    ctx.backend.kernels.mul(x, mask, y);
    this.#mask = mask;
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const mask = saved(this.#mask, this.name);
    if (!needInputGradient) return null;
    if (mask === null) return dy;
    const dx = ctx.backend.alloc(dy.shape);
    ctx.backend.kernels.mul(dy, mask, dx);
    return dx;
  }
}

/** `{ "type": "dropout", "rate": 0.25 }`. */
export const dropoutSpec = layerSpec('dropout', {
  rate: z.number().min(0).lt(1, { error: 'must be in [0, 1): the fraction of activations dropped' }).describe('Fraction of activations dropped in training.'),
});

export function fromSpec(spec: z.output<typeof dropoutSpec>, inputShape: Shape, name: string, _scope: ValidationScope): Dropout {
  return new Dropout(name, inputShape, spec.rate);
}
