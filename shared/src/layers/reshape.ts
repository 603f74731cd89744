import type { JsonObject, ValidationScope } from '../config/validate.js';
import { fieldPath, rejectUnknownKeys, requireShape } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf } from '../tensor/tensor.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';

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

export function fromSpec(options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope): Reshape {
  rejectUnknownKeys(options, ['targetShape'], scope);
  const targetShape = requireShape(options, 'targetShape', scope);
  if (sizeOf(targetShape) !== sizeOf(inputShape)) {
    throw new ConfigError(fieldPath(scope, 'targetShape'), `has ${sizeOf(targetShape)} elements but the input ${formatShape(inputShape)} has ${sizeOf(inputShape)}`, {
      value: targetShape,
      hint: 'the product of targetShape must equal the size of one input sample',
      ...(scope.file !== undefined ? { file: scope.file } : {}),
    });
  }
  return new Reshape(name, inputShape, targetShape);
}
