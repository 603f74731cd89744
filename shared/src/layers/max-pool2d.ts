import type { JsonObject, ValidationScope } from '../config/validate.js';
import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { parsePoolOptions, poolGeometryFor, pooledShape } from './pool-options.js';
import type { Pool2DOptions } from './pool-options.js';

/** Max over each window; the gradient goes to the window's first maximum (re-found from the saved input). NHWC [H, W, C]. */
export class MaxPool2D implements Layer {
  readonly type = 'maxPool2d';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];
  readonly #options: Pool2DOptions;
  #x: Tensor | undefined;
  #geometry: WindowGeometry | undefined;

  constructor(name: string, inputShape: Shape, options: Pool2DOptions) {
    this.name = name;
    this.inputShape = inputShape;
    this.#options = options;
    this.outputShape = pooledShape(inputShape, options);
  }

  bind(): void {}

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const g = poolGeometryFor(this.inputShape, this.#options, x.dim(0));
    const y = ctx.backend.alloc([g.batch, ...this.outputShape]);
    ctx.backend.kernels.maxPool(x, y, g);
    this.#x = x;
    this.#geometry = g;
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const x = saved(this.#x, this.name);
    const g = saved(this.#geometry, this.name);
    if (!needInputGradient) return null;
    const dx = ctx.backend.alloc(x.shape);
    ctx.backend.kernels.maxPoolBackward(dy, x, dx, g);
    return dx;
  }
}

export function fromSpec(options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope): MaxPool2D {
  return new MaxPool2D(name, inputShape, parsePoolOptions('maxPool2d', options, inputShape, name, scope));
}
