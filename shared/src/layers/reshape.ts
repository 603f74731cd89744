import type { z } from 'zod';
import { shape } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { fieldPath } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf } from '../tensor/tensor.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { layerSpec } from './options.js';

/** [B, ...inputShape] → [B, ...targetShape] of equal size; a view, like Flatten. */
export class Reshape implements Layer {
  readonly type = 'reshape';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];

  constructor(name: string, inputShape: Shape, targetShape: Shape) {
    this.name = name;
    this.inputShape = inputShape;
    this.outputShape = targetShape;
  }

  bind(): void {}

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return x.reshape([x.dim(0), ...this.outputShape]);
  }

  backward(dy: Tensor, _ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    return needInputGradient ? dy.reshape([dy.dim(0), ...this.inputShape]) : null;
  }
}

/** `{ "type": "reshape", "targetShape": [28, 28, 1] }`. */
export const reshapeSpec = layerSpec('reshape', { targetShape: shape().describe('Per-sample output shape; same number of elements as the input.') });

export function fromSpec(spec: z.output<typeof reshapeSpec>, inputShape: Shape, name: string, scope: ValidationScope): Reshape {
  const { targetShape } = spec;
  if (sizeOf(targetShape) !== sizeOf(inputShape)) {
    throw new ConfigError(fieldPath(scope, 'targetShape'), `has ${sizeOf(targetShape)} elements but the input ${formatShape(inputShape)} has ${sizeOf(inputShape)}`, {
      value: targetShape,
      hint: 'the product of targetShape must equal the size of one input sample',
      ...(scope.file !== undefined ? { file: scope.file } : {}),
    });
  }
  return new Reshape(name, inputShape, targetShape);
}
