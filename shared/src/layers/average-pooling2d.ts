import type { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import type { ForwardContext } from './layer.js';
import { Pooling2DLayer } from './pooling2d-layer.js';
import { layerSpec } from './options.js';
import { poolOptions, poolShape } from './pooling-options.js';

/** Mean over each window's real cells (padding is not counted); the gradient is shared equally among them. NHWC [H, W, C]. */
export class AveragePooling2D extends Pooling2DLayer {
  readonly type = 'avgPool2d';

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const { y, geometry } = this.startForward(x, ctx);
    ctx.backend.kernels.avgPool(x, y, geometry);
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const { x, geometry } = this.savedTape();
    if (!needInputGradient) return null;
    const dx = ctx.backend.alloc(x.shape);
    ctx.backend.kernels.avgPoolBackward(dy, dx, geometry);
    return dx;
  }
}

export const avgPool2dSpec = layerSpec('avgPool2d', poolShape);

export function fromSpec(spec: z.output<typeof avgPool2dSpec>, inputShape: Shape, name: string, scope: ValidationScope): AveragePooling2D {
  return new AveragePooling2D(name, inputShape, poolOptions('avgPool2d', spec, inputShape, name, scope));
}
