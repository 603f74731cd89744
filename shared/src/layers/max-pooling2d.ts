import type { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import type { ForwardContext } from './layer.js';
import { Pooling2DLayer } from './pooling2d-layer.js';
import { layerSpec } from './options.js';
import { poolOptions, poolShape } from './pooling-options.js';

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
    const dx = ctx.backend.allocUninitialized(x.shape); // maxPoolBackward zeroes what no window writes
    ctx.backend.kernels.maxPoolBackward(dy, x, dx, geometry);
    return dx;
  }
}

export const maxPool2dSpec = layerSpec('maxPool2d', poolShape);

export function fromSpec(spec: z.output<typeof maxPool2dSpec>, inputShape: Shape, name: string, scope: ValidationScope): MaxPooling2D {
  return new MaxPooling2D(name, inputShape, poolOptions('maxPool2d', spec, inputShape, name, scope));
}
