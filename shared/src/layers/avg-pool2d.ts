import type { JsonObject, ValidationScope } from '../config/validate.js';
import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { parsePoolOptions, poolGeometryFor, pooledShape } from './pool-options.js';
import type { Pool2DOptions } from './pool-options.js';

/** Mean over each window's real cells (padding is not counted); the gradient is shared equally among them. NHWC [H, W, C]. */
export class AvgPool2D implements Layer {
  readonly type = 'avgPool2d';
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
    ctx.backend.kernels.avgPool(x, y, g);
    this.#x = x;
    this.#geometry = g;
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const x = saved(this.#x, this.name);
    const g = saved(this.#geometry, this.name);
    if (!needInputGradient) return null;
    const dx = ctx.backend.alloc(x.shape);
    ctx.backend.kernels.avgPoolBackward(dy, dx, g);
    return dx;
  }
}

export function fromSpec(options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope): AvgPool2D {
  return new AvgPool2D(name, inputShape, parsePoolOptions('avgPool2d', options, inputShape, name, scope));
}
