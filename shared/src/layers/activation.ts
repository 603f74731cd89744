import type { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { ActivationOp } from './activation-op.js';
import type { LayerActivation } from './activation-op.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { activationChoice, activationOptions, layerSpec } from './options.js';

/** A standalone activation; softmax normalises over the last axis. */
export class Activation implements Layer {
  readonly type = 'activation';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];
  readonly #op: ActivationOp;

  constructor(name: string, inputShape: Shape, kind: LayerActivation, alpha: number) {
    this.name = name;
    this.inputShape = inputShape;
    this.outputShape = inputShape;
    this.#op = new ActivationOp(kind, alpha);
  }

  bind(): void {}

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.#op.forward(x, ctx);
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    return needInputGradient ? this.#op.backward(dy, ctx) : null;
  }
}

/** `{ "type": "activation", "activation": "relu" }`. */
export const activationSpec = layerSpec('activation', activationOptions());

export function fromSpec(spec: z.output<typeof activationSpec>, inputShape: Shape, name: string, _scope: ValidationScope): Activation {
  const { kind, alpha } = activationChoice(spec);
  return new Activation(name, inputShape, kind, alpha);
}
