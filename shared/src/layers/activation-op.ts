import type { ActivationKind } from '../kernels/signatures/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext } from './layer.js';

/** What a layer's `activation` option may name: a pointwise kind or a softmax over the last axis. */
export type LayerActivation = ActivationKind | 'softmax';

export const LAYER_ACTIVATIONS: readonly LayerActivation[] = ['linear', 'relu', 'sigmoid', 'tanh', 'leakyRelu', 'elu', 'softmax'];

/**
 * Default `alpha`: leakyRelu's negative slope 0.2 (Keras' `leaky_relu` activation) and elu's
 * scale 1 (Keras' `elu`); the other kinds ignore it.
 */
export function defaultAlpha(kind: LayerActivation): number {
  if (kind === 'leakyRelu') return 0.2;
  if (kind === 'elu') return 1;
  return 0;
}

/**
 * An activation applied after a layer's linear part (Dense, Conv2D) or on its own (Activation).
 * Forward keeps its input z and output y, because backward needs one or the other: relu-like
 * kinds differentiate from z, sigmoid/tanh/softmax from y. 'linear' passes tensors through
 * untouched, costing nothing.
 */
export class ActivationOp {
  readonly kind: LayerActivation;
  readonly alpha: number;
  #z: Tensor | undefined;
  #y: Tensor | undefined;

  constructor(kind: LayerActivation, alpha: number) {
    this.kind = kind;
    this.alpha = alpha;
  }

  forward(z: Tensor, ctx: ForwardContext): Tensor {
    if (this.kind === 'linear') return z;
    const y = ctx.backend.allocUninitialized(z.shape); // every activation kernel writes all of y
    if (this.kind === 'softmax') ctx.backend.kernels.softmax(z, y);
    else ctx.backend.kernels.activation(this.kind, z, y, this.alpha);
    this.#z = z;
    this.#y = y;
    return y;
  }

  /** ∂L/∂z from ∂L/∂y of the last forward. */
  backward(dy: Tensor, ctx: ForwardContext): Tensor {
    if (this.kind === 'linear') return dy;
    const z = saved(this.#z, `activation ${this.kind}`);
    const y = saved(this.#y, `activation ${this.kind}`);
    const dz = ctx.backend.allocUninitialized(z.shape);
    if (this.kind === 'softmax') ctx.backend.kernels.softmaxBackward(dy, y, dz);
    else ctx.backend.kernels.activationBackward(this.kind, dy, z, y, dz, this.alpha);
    return dz;
  }
}
