import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { poolGeometryFor, pooledShape } from './pool-options.js';
import type { Pool2DOptions } from './pool-options.js';

/** The input a pooling forward saw and the window geometry it used, both needed by its backward. */
export interface PoolTape {
  readonly x: Tensor;
  readonly geometry: WindowGeometry;
}

/**
 * What maxPool2d and avgPool2d share: shapes, options, no parameters, and the tape between forward
 * and backward. Only the reduction over a window differs, so each subclass writes its own forward
 * and backward (side by side in its file) around the two helpers below.
 */
export abstract class Pool2DLayer implements Layer {
  abstract readonly type: string;
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];
  readonly #options: Pool2DOptions;
  #tape: PoolTape | undefined;

  constructor(name: string, inputShape: Shape, options: Pool2DOptions) {
    this.name = name;
    this.inputShape = inputShape;
    this.#options = options;
    this.outputShape = pooledShape(inputShape, options);
  }

  bind(): void {}

  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;
  abstract backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null;

  /** For a forward on x: this batch's window geometry and an output buffer; saves both x and the geometry for backward. */
  protected startForward(x: Tensor, ctx: ForwardContext): { readonly y: Tensor; readonly geometry: WindowGeometry } {
    const geometry = poolGeometryFor(this.inputShape, this.#options, x.dim(0));
    const y = ctx.backend.alloc([geometry.batch, ...this.outputShape]);
    this.#tape = { x, geometry };
    return { y, geometry };
  }

  /** What the last forward saved; a clear error when backward comes first. */
  protected savedTape(): PoolTape {
    return saved(this.#tape, this.name);
  }
}
