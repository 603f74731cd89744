import type { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { sizeOf } from '../tensor/tensor.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { layerSpec } from './options.js';

/**
 * [B, ...inputShape] → [B, size]. Row-major storage already lays a sample out flat, so forward
 * and backward are views of the same memory: no copy, no kernel.
 */
export class Flatten implements Layer {
  readonly type = 'flatten';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];

  constructor(name: string, inputShape: Shape) {
    this.name = name;
    this.inputShape = inputShape;
    this.outputShape = [sizeOf(inputShape)];
  }

  bind(): void {}

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return x.reshape([x.dim(0), ...this.outputShape]);
  }

  backward(dy: Tensor, _ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    return needInputGradient ? dy.reshape([dy.dim(0), ...this.inputShape]) : null;
  }
}

export const flattenSpec = layerSpec('flatten', {});

export function fromSpec(_spec: z.output<typeof flattenSpec>, inputShape: Shape, name: string, _scope: ValidationScope): Flatten {
  return new Flatten(name, inputShape);
}
