import { ShapeError } from '../errors.js';
import { formatShape } from '../tensor/tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import type { MatMulOptions } from './signatures/linear.js';

export interface GemmShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** The m, n, k of out = op(a)·op(b), checked: 2-D operands, equal inner sizes, out of m·n elements. */
export function gemmShape(backend: string, a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions): GemmShape {
  if (a.rank !== 2 || b.rank !== 2) {
    throw new ShapeError(`${backend} matMul: a and b must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const [aRows, aCols] = a.shape as [number, number];
  const [bRows, bCols] = b.shape as [number, number];
  const m = options.transposeA ? aCols : aRows;
  const k = options.transposeA ? aRows : aCols;
  const kB = options.transposeB ? bCols : bRows;
  const n = options.transposeB ? bRows : bCols;
  if (k !== kB || out.size !== m * n) {
    throw new ShapeError(
      `${backend} matMul: op(a) is [${m}, ${k}], op(b) is [${kB}, ${n}], out is ${formatShape(out.shape)}; need equal inner sizes and out [${m}, ${n}]`,
    );
  }
  return { m, n, k };
}
