import type { Tensor } from '../../tensor/tensor.js';
import type { ActivationKind, ElementwiseKernels } from '../signatures/elementwise.js';

/**
 * Elementwise maps and row-wise softmax. Each loop reads index i before writing index i, so
 * `out` may alias an input as the interface allows.
 */

/**
 * f(v) for one element; the recurrent cell kernels (recurrent.ts) call it too, so every activation
 * has one reference formula. `alpha` is the leakyRelu/elu parameter; the recurrent activations
 * have none, hence the default.
 */
export function activate(kind: ActivationKind, v: number, alpha = 0): number {
  switch (kind) {
    case 'linear': return v;
    case 'relu': return v > 0 ? v : 0;
    // Branching on the sign keeps exp() from overflowing for large |v|.
    case 'sigmoid': return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    case 'tanh': return Math.tanh(v);
    case 'leakyRelu': return v > 0 ? v : alpha * v;
    case 'elu': return v > 0 ? v : alpha * Math.expm1(v);
  }
}

/** f'(x)·dy. Sigmoid and tanh use the saved output y; the others the input x. At 0 the left derivative is taken. */
function derivative(kind: ActivationKind, dy: number, x: number, y: number, alpha: number): number {
  switch (kind) {
    case 'linear': return dy;
    case 'relu': return x > 0 ? dy : 0;
    case 'sigmoid': return dy * y * (1 - y);
    case 'tanh': return dy * (1 - y * y);
    case 'leakyRelu': return x > 0 ? dy : alpha * dy;
    case 'elu': return x > 0 ? dy : dy * alpha * Math.exp(x);
  }
}

function activation(kind: ActivationKind, x: Tensor, out: Tensor, alpha: number): void {
  const X = x.data;
  const O = out.data;
  for (let i = 0; i < X.length; i++) O[i] = activate(kind, X[i]!, alpha);
}

function activationBackward(kind: ActivationKind, dy: Tensor, x: Tensor, y: Tensor, dx: Tensor, alpha: number): void {
  const D = dy.data;
  const X = x.data;
  const Y = y.data;
  const O = dx.data;
  for (let i = 0; i < D.length; i++) O[i] = derivative(kind, D[i]!, X[i]!, Y[i]!, alpha);
}

function add(a: Tensor, b: Tensor, out: Tensor): void {
  const A = a.data, B = b.data, O = out.data;
  for (let i = 0; i < O.length; i++) O[i] = A[i]! + B[i]!;
}

function mul(a: Tensor, b: Tensor, out: Tensor): void {
  const A = a.data, B = b.data, O = out.data;
  for (let i = 0; i < O.length; i++) O[i] = A[i]! * B[i]!;
}

function scale(x: Tensor, s: number, out: Tensor): void {
  const X = x.data, O = out.data;
  for (let i = 0; i < O.length; i++) O[i] = s * X[i]!;
}

function axpy(alpha: number, x: Tensor, y: Tensor): void {
  const X = x.data, Y = y.data;
  for (let i = 0; i < Y.length; i++) Y[i] = Y[i]! + alpha * X[i]!;
}

function fill(out: Tensor, value: number): void {
  out.data.fill(value);
}

function copy(src: Tensor, dst: Tensor): void {
  dst.data.set(src.data);
}

/** Rows are the last axis. Subtracting the row max makes every exponent ≤ 0, so nothing overflows. */
function softmax(x: Tensor, out: Tensor): void {
  const C = x.dim(-1);
  const X = x.data, O = out.data;
  for (let base = 0; base < X.length; base += C) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, X[base + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) {
      const e = Math.exp(X[base + c]! - max);
      O[base + c] = e;
      sum += e;
    }
    for (let c = 0; c < C; c++) O[base + c] = O[base + c]! / sum;
  }
}

function softmaxBackward(dy: Tensor, y: Tensor, dx: Tensor): void {
  const C = y.dim(-1);
  const D = dy.data, Y = y.data, O = dx.data;
  for (let base = 0; base < Y.length; base += C) {
    let dot = 0;
    for (let c = 0; c < C; c++) dot += D[base + c]! * Y[base + c]!;
    for (let c = 0; c < C; c++) O[base + c] = Y[base + c]! * (D[base + c]! - dot);
  }
}

export const elementwiseReferenceKernels: ElementwiseKernels = {
  activation, activationBackward, add, mul, scale, axpy, fill, copy, softmax, softmaxBackward,
};
