import { ShapeError } from '../../errors.js';
import { formatShape } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LinearKernels, MatMulOptions } from '../signatures/linear.js';
import { gemmShape } from '../gemm-shape.js';
import { requireSize } from './checks.js';
import { contextOf, ptr, withWorkspace } from './context.js';

/** Packing modes of shared/assembly/pack.ts. */
export const A_ROWS = 0;
export const A_COLS = 1;
export const A_IM2COL = 2;
export const A_IM2COL_T = 3;
export const B_ROWS = 0;
export const B_COLS = 1;

/**
 * Rows [rowStart, rowEnd) of out = op(a)·op(b) (+ out). The other rows of out are not touched.
 * By Note [determinism] in shared/assembly/gemm.ts every element is computed the same way whatever
 * the row range, so a GEMM split by rows over threads equals the whole one bit for bit.
 */
export function matMulRows(a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions, rowStart: number, rowEnd: number): void {
  const { m, n, k } = gemmShape('wasm', a, b, out, options);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > m) {
    throw new ShapeError(`wasm matMul: row range [${rowStart}, ${rowEnd}) is not within [0, ${m}]`);
  }
  const context = contextOf('matMul', out, a, b);
  const ex = context.exports;
  withWorkspace(context, ex.gemmWorkspaceBytes(), (ws) =>
    ex.gemm(
      options.transposeA ? A_COLS : A_ROWS, ptr(a), options.transposeA ? m : k,
      options.transposeB ? B_COLS : B_ROWS, ptr(b), options.transposeB ? k : n,
      ptr(out), n, m, n, k, rowStart, rowEnd, options.accumulate ? 1 : 0, ws,
    ),
  );
}

function matMul(a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions = {}): void {
  const m = options.transposeA ? a.shape[1] : a.shape[0];
  matMulRows(a, b, out, options, 0, m ?? 0);
}

function biasAdd(x: Tensor, bias: Tensor, out: Tensor): void {
  const c = bias.size;
  requireSize('biasAdd', 'out', out, x.size);
  if (c === 0 || x.size % c !== 0) {
    throw new ShapeError(`wasm biasAdd: x ${formatShape(x.shape)} is not a multiple of bias ${formatShape(bias.shape)}`);
  }
  contextOf('biasAdd', out, x, bias).exports.biasAdd(ptr(x), ptr(bias), ptr(out), x.size / c, c);
}

function biasGrad(dy: Tensor, out: Tensor, accumulate = false): void {
  const c = out.size;
  if (c === 0 || dy.size % c !== 0) {
    throw new ShapeError(`wasm biasGrad: dy ${formatShape(dy.shape)} is not a multiple of out ${formatShape(out.shape)}`);
  }
  const context = contextOf('biasGrad', out, dy);
  withWorkspace(context, c * 8, (ws) => context.exports.biasGrad(ptr(dy), ptr(out), dy.size / c, c, accumulate ? 1 : 0, ws));
}

export const linearWasmKernels: LinearKernels = { matMul, biasAdd, biasGrad };
