import type { JsonObject, ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import type { ForwardContext } from './layer.js';
import { Pooling2DLayer } from './pooling2d-layer.js';
import { parsePoolingOptions } from './pooling-options.js';

/** Max over each window; the gradient goes to the window's first maximum (re-found from the saved input). NHWC [H, W, C]. */
export class MaxPooling2D extends Pooling2DLayer {
  readonly type = 'maxPool2d';

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const { y, geometry } = this.startForward(x, ctx);
    ctx.backend.kernels.maxPool(x, y, geometry);
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const { x, geometry } = this.savedTape();
    if (!needInputGradient) return null;
    const dx = ctx.backend.alloc(x.shape);
    ctx.backend.kernels.maxPoolBackward(dy, x, dx, geometry);
    return dx;
  }
}

export function fromSpec(options: JsonObject, inputShape: Shape, name: string, scope: ValidationScope): MaxPooling2D {
  return new MaxPooling2D(name, inputShape, parsePoolingOptions('maxPool2d', options, inputShape, name, scope));
}
