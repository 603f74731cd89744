import { ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { gemmShape } from '../gemm-shape.js';
import type { MatMulOptions } from '../signatures/linear.js';
import { nativeAddon } from './addon.js';

/**
 * Rows [rowStart, rowEnd) of out = op(a)·op(b) (+ out) by OpenBLAS's cblas_sgemm on the tensors'
 * own views (heap arrays or the pool's shared WebAssembly memory alike): the row block of op(a)
 * starts rowStart rows (or, transposed, columns) in. Leading dimensions are at least 1, as BLAS
 * requires even of an empty operand. Unlike the WebAssembly GEMM, OpenBLAS does not promise the
 * same bits for a row block as for the whole product; training never splits a GEMM (one
 * micro-batch, one thread), only the GEMM benchmark does.
 */
export function matMulRows(a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions, rowStart: number, rowEnd: number): void {
  const { m, n, k } = gemmShape('native', a, b, out, options);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > m) {
    throw new ShapeError(`native matMul: row range [${rowStart}, ${rowEnd}) is not within [0, ${m}]`);
  }
  const transA = options.transposeA === true;
  const transB = options.transposeB === true;
  const aBlock = a.data.subarray(transA ? rowStart : rowStart * k);
  nativeAddon().sgemm(
    aBlock, b.data, out.data.subarray(rowStart * n), rowEnd - rowStart, n, k,
    Math.max(1, transA ? m : k), Math.max(1, transB ? k : n), Math.max(1, n), transA, transB, options.accumulate ? 1 : 0,
  );
}

function matMul(a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions = {}): void {
  const m = options.transposeA ? a.shape[1] : a.shape[0];
  matMulRows(a, b, out, options, 0, m ?? 0);
}

export const linearNativeKernels = { matMul };
