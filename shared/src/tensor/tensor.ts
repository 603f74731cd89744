import { ShapeError } from '../errors.js';

/** A shape: dimension sizes, outermost first. Per-sample shapes leave out the batch dimension. */
export type Shape = readonly number[];

/**
 * A dense float32 tensor in row-major (C) order. `data` may be a view into a backend's memory
 * (e.g. a WebAssembly.Memory shared by pool threads), so never assume it owns its buffer and
 * never keep a tensor allocated from a step arena past the end of that step.
 */
export class Tensor {
  readonly shape: Shape;
  readonly data: Float32Array;

  constructor(shape: Shape, data: Float32Array) {
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new ShapeError(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    this.shape = shape;
    this.data = data;
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(shape, new Float32Array(sizeOf(shape)));
  }

  static from(shape: Shape, values: ArrayLike<number>): Tensor {
    return new Tensor(shape, Float32Array.from(values));
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The same storage seen with another shape of equal size. */
  reshape(shape: Shape): Tensor {
    return new Tensor(shape, this.data);
  }

  /** Dimension i; negative counts from the end. */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new ShapeError(`tensor of shape [${this.shape.join(', ')}] has no dimension ${i}`);
    return d;
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
