import type { Tensor } from '../../tensor/tensor.js';
import type { ReductionKernels } from '../signatures/elementwise.js';

/**
 * Float64 sums in index order. The order is part of the contract: a fast backend that sums in
 * another order may differ in the last bits, and the reference is what it is compared against.
 */
function sum(x: Tensor): number {
  const X = x.data;
  let s = 0;
  for (let i = 0; i < X.length; i++) s += X[i]!;
  return s;
}

function sumSquares(x: Tensor): number {
  const X = x.data;
  let s = 0;
  for (let i = 0; i < X.length; i++) s += X[i]! * X[i]!;
  return s;
}

export const reductionReferenceKernels: ReductionKernels = { sum, sumSquares };
