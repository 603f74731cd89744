import type { Tensor } from '../../tensor/tensor.js';
import type { ReductionKernels } from '../signatures/elementwise.js';
import { contextOf, ptr } from './context.js';

/** float64 sums in a fixed order that depends only on the length (shared/assembly/reduce.ts). */
function sum(x: Tensor): number {
  return contextOf('sum', x).exports.sum(ptr(x), x.size);
}

function sumSquares(x: Tensor): number {
  return contextOf('sumSquares', x).exports.sumSquares(ptr(x), x.size);
}

export const reductionWasmKernels: ReductionKernels = { sum, sumSquares };
