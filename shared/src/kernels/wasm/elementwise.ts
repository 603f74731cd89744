import type { Tensor } from '../../tensor/tensor.js';
import type { ActivationKind, ElementwiseKernels } from '../signatures/elementwise.js';
import { requireSameSize, rowsOf } from './checks.js';
import { contextOf, ptr } from './context.js';

/** Activation codes of shared/assembly/activation.ts. */
const ACTIVATION_CODE: Readonly<Record<ActivationKind, number>> = {
  linear: 0, relu: 1, sigmoid: 2, tanh: 3, leakyRelu: 4, elu: 5,
};

function activation(kind: ActivationKind, x: Tensor, out: Tensor, alpha: number): void {
  requireSameSize('activation', x, out);
  contextOf('activation', out, x).exports.activation(ACTIVATION_CODE[kind], ptr(x), ptr(out), x.size, alpha);
}

function activationBackward(kind: ActivationKind, dy: Tensor, x: Tensor, y: Tensor, dx: Tensor, alpha: number): void {
  requireSameSize('activationBackward', dy, x, y, dx);
  contextOf('activationBackward', dx, dy, x, y).exports.activationBackward(ACTIVATION_CODE[kind], ptr(dy), ptr(x), ptr(y), ptr(dx), dy.size, alpha);
}

function add(a: Tensor, b: Tensor, out: Tensor): void {
  requireSameSize('add', out, a, b);
  contextOf('add', out, a, b).exports.add(ptr(a), ptr(b), ptr(out), out.size);
}

function mul(a: Tensor, b: Tensor, out: Tensor): void {
  requireSameSize('mul', out, a, b);
  contextOf('mul', out, a, b).exports.mul(ptr(a), ptr(b), ptr(out), out.size);
}

function scale(x: Tensor, s: number, out: Tensor): void {
  requireSameSize('scale', out, x);
  contextOf('scale', out, x).exports.scale(ptr(x), s, ptr(out), out.size);
}

function axpy(alpha: number, x: Tensor, y: Tensor): void {
  requireSameSize('axpy', y, x);
  contextOf('axpy', y, x).exports.axpy(alpha, ptr(x), ptr(y), y.size);
}

function fill(out: Tensor, value: number): void {
  contextOf('fill', out).exports.fill(ptr(out), value, out.size);
}

function copy(src: Tensor, dst: Tensor): void {
  requireSameSize('copy', dst, src);
  contextOf('copy', dst, src).exports.copy(ptr(src), ptr(dst), dst.size);
}

function softmax(x: Tensor, out: Tensor): void {
  requireSameSize('softmax', x, out);
  const r = rowsOf('softmax', x);
  contextOf('softmax', out, x).exports.softmax(ptr(x), ptr(out), r.rows, r.cols);
}

function softmaxBackward(dy: Tensor, y: Tensor, dx: Tensor): void {
  requireSameSize('softmaxBackward', y, dy, dx);
  const r = rowsOf('softmaxBackward', y);
  contextOf('softmaxBackward', dx, dy, y).exports.softmaxBackward(ptr(dy), ptr(y), ptr(dx), r.rows, r.cols);
}

export const elementwiseWasmKernels: ElementwiseKernels = {
  activation, activationBackward, add, mul, scale, axpy, fill, copy, softmax, softmaxBackward,
};
