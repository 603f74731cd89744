import type { Tensor } from '../../tensor/tensor.js';
import type { PoolingKernels, WindowGeometry } from '../signatures/conv.js';
import { requireSize } from './checks.js';
import { contextOf, ptr } from './context.js';
import { setWindow } from './window.js';

/**
 * Pooling wrappers: the window goes to the instance once, then one call walks every window
 * (shared/assembly/pooling.ts). Channels are vectorised, so pooling stays memory-bound.
 */

function poolingSizes(kernel: string, x: Tensor, out: Tensor, g: WindowGeometry): void {
  requireSize(kernel, 'x', x, g.batch * g.inHeight * g.inWidth * g.inChannels);
  requireSize(kernel, 'out', out, g.batch * g.outHeight * g.outWidth * g.inChannels);
}

function maxPool(x: Tensor, out: Tensor, g: WindowGeometry): void {
  poolingSizes('maxPool', x, out, g);
  const context = contextOf('maxPool', out, x);
  setWindow(context, g);
  context.exports.maxPool(ptr(x), ptr(out));
}

function maxPoolBackward(dy: Tensor, x: Tensor, dx: Tensor, g: WindowGeometry): void {
  poolingSizes('maxPoolBackward', x, dy, g);
  requireSize('maxPoolBackward', 'dx', dx, x.size);
  const context = contextOf('maxPoolBackward', dx, dy, x);
  setWindow(context, g);
  context.exports.maxPoolBackward(ptr(dy), ptr(x), ptr(dx));
}

function avgPool(x: Tensor, out: Tensor, g: WindowGeometry): void {
  poolingSizes('avgPool', x, out, g);
  const context = contextOf('avgPool', out, x);
  setWindow(context, g);
  context.exports.avgPool(ptr(x), ptr(out));
}

function avgPoolBackward(dy: Tensor, dx: Tensor, g: WindowGeometry): void {
  poolingSizes('avgPoolBackward', dx, dy, g);
  const context = contextOf('avgPoolBackward', dx, dy);
  setWindow(context, g);
  context.exports.avgPoolBackward(ptr(dy), ptr(dx));
}

export const poolingWasmKernels: PoolingKernels = { maxPool, maxPoolBackward, avgPool, avgPoolBackward };
