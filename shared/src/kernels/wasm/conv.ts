import type { Tensor } from '../../tensor/tensor.js';
import type { ConvKernels, WindowGeometry } from '../signatures/conv.js';
import { requireSize } from './checks.js';
import { contextOf, ptr, withWorkspace } from './context.js';
import { A_IM2COL, A_IM2COL_T, A_ROWS, B_COLS, B_ROWS } from './linear.js';
import { setWindow, windowSizes as sizes } from './window.js';

/**
 * Convolutions as GEMMs. Forward and filter gradient gather their A operand from the NHWC input
 * while it is packed (shared/assembly/pack.ts), so no im2col matrix is stored for them:
 *   forward          out[NPQ, F]    = im2col(x)[NPQ, KH·KW·C] · filter[KH·KW·C, F]
 *   filter gradient  dW[KH·KW·C, F] = im2col(x)ᵀ · dy[NPQ, F]
 *   input gradient   cols[NPQ, KH·KW·C] = dy[NPQ, F] · filterᵀ, then dx = col2im(cols)
 *                    (shared/assembly/conv.ts): each window's column scattered back onto x's cells.
 * Note [input gradient]: why GEMM-then-col2im rather than the textbook alternative, a forward
 * convolution of dy with the flipped filter over a padded (and, for strides > 1, zero-dilated) dy.
 * That GEMM multiplies the padding's zeros (≈ 40 % more flops for the MNIST CNN's 3×3 layer,
 * stride² more for strided ones), has only C output columns to reuse each packed A panel over, and
 * gathers A through im2col; this one has no zero work, KH·KW·C columns, and a contiguous A.
 * Measured side by side in one process (same inputs, alternating): 0.71× the time for the CNN's
 * second layer, 0.24× for a one-channel first layer. The cols buffer is bounded by doing the work
 * a few images at a time (Note [image chunks]).
 */

function conv2d(x: Tensor, filter: Tensor, out: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2d', 'x', x, s.x);
  requireSize('conv2d', 'filter', filter, s.filter);
  requireSize('conv2d', 'out', out, s.y);
  const context = contextOf('conv2d', out, x, filter);
  const ex = context.exports;
  const rows = g.batch * g.outHeight * g.outWidth;
  const depth = g.windowHeight * g.windowWidth * g.inChannels;
  setWindow(context, g);
  withWorkspace(context, ex.gemmWorkspaceBytes(), (ws) =>
    ex.gemm(A_IM2COL, ptr(x), 0, B_ROWS, ptr(filter), g.outChannels, ptr(out), g.outChannels, rows, g.outChannels, depth, 0, rows, 0, ws),
  );
}

function conv2dBackpropFilter(x: Tensor, dy: Tensor, dFilter: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2dBackpropFilter', 'x', x, s.x);
  requireSize('conv2dBackpropFilter', 'dy', dy, s.y);
  requireSize('conv2dBackpropFilter', 'dFilter', dFilter, s.filter);
  const context = contextOf('conv2dBackpropFilter', dFilter, x, dy);
  const ex = context.exports;
  const rows = g.windowHeight * g.windowWidth * g.inChannels;
  const pixels = g.batch * g.outHeight * g.outWidth;
  setWindow(context, g);
  withWorkspace(context, ex.gemmWorkspaceBytes(), (ws) =>
    ex.gemm(A_IM2COL_T, ptr(x), 0, B_ROWS, ptr(dy), g.outChannels, ptr(dFilter), g.outChannels, rows, g.outChannels, pixels, 0, rows, 0, ws),
  );
}

/**
 * Note [image chunks]: cols needs NPQ·KH·KW·C floats (4.5 MB for a micro-batch of 32 in the MNIST
 * CNN, but 115 MB per 224×224×64 image); images are independent, so the work is done in chunks of
 * whole images holding at most COLS_BYTES. Every element is computed the same way whatever the
 * chunking (Note [determinism] in shared/assembly/gemm.ts; col2im's order is per image), so the
 * result does not depend on it.
 */
const COLS_BYTES = 16 * 1024 * 1024;

function conv2dBackpropInput(dy: Tensor, filter: Tensor, dx: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2dBackpropInput', 'dy', dy, s.y);
  requireSize('conv2dBackpropInput', 'filter', filter, s.filter);
  requireSize('conv2dBackpropInput', 'dx', dx, s.x);
  const context = contextOf('conv2dBackpropInput', dx, dy, filter);
  const ex = context.exports;
  const f = g.outChannels;
  const width = g.windowHeight * g.windowWidth * g.inChannels;
  const pixels = g.outHeight * g.outWidth;
  const images = Math.max(1, Math.min(g.batch, Math.floor(COLS_BYTES / Math.max(1, pixels * width * 4))));
  const gemmBytes = ex.gemmWorkspaceBytes();
  withWorkspace(context, gemmBytes + images * pixels * width * 4, (ws) => {
    const cols = ws + gemmBytes;
    for (let n0 = 0; n0 < g.batch; n0 += images) {
      const count = Math.min(images, g.batch - n0);
      const rows = count * pixels;
      ex.gemm(A_ROWS, ptr(dy) + n0 * pixels * f * 4, f, B_COLS, ptr(filter), f, cols, width, rows, width, f, 0, rows, 0, ws);
      setWindow(context, { ...g, batch: count });
      ex.col2im(cols, ptr(dx) + n0 * g.inHeight * g.inWidth * g.inChannels * 4);
    }
  });
}

export const convWasmKernels: ConvKernels = { conv2d, conv2dBackpropInput, conv2dBackpropFilter };
