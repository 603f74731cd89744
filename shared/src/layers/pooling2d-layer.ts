import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { poolingGeometryFor, pooledShape } from './pooling-options.js';
import type { Pooling2DOptions } from './pooling-options.js';

/** The input a pooling forward saw and the window geometry it used, both needed by its backward. */
export interface PoolingTape {
  readonly x: Tensor;
  readonly geometry: WindowGeometry;
}

/**
 * What maxPool2d and avgPool2d share: shapes, options, no parameters, and the tape between forward
 * and backward. Only the reduction over a window differs, so each subclass writes its own forward
 * and backward (side by side in its file) around the two helpers below.
 */
export abstract class Pooling2DLayer implements Layer {
  abstract readonly type: string;
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[] = [];
  readonly #options: Pooling2DOptions;
  #tape: PoolingTape | undefined;

  constructor(name: string, inputShape: Shape, options: Pooling2DOptions) {
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
    const geometry = poolingGeometryFor(this.inputShape, this.#options, x.dim(0));
    const y = ctx.backend.allocUninitialized([geometry.batch, ...this.outputShape]); // pooling writes every output cell
    this.#tape = { x, geometry };
    return { y, geometry };
  }

  /** What the last forward saved; a clear error when backward comes first. */
  protected savedTape(): PoolingTape {
    return saved(this.#tape, this.name);
  }
}
