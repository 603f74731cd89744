import type { Tensor } from '../../tensor/tensor.js';
import type { ConvKernels, WindowGeometry } from '../signatures/conv.js';
import { requireSize } from './checks.js';
import { contextOf, ptr, withWorkspace } from './context.js';
import { A_IM2COL, A_IM2COL_T, B_ROWS } from './linear.js';
import { setWindow, windowSizes as sizes } from './window.js';

/**
 * Convolutions as GEMMs whose A operand is gathered from the NHWC input while it is packed
 * (shared/assembly/pack.ts), so no im2col matrix is ever stored:
 *   forward          out[NPQ, F]   = im2col(x)[NPQ, KH·KW·C] · filter[KH·KW·C, F]
 *   filter gradient  dW[KH·KW·C, F] = im2col(x)ᵀ · dy[NPQ, F]
 *   input gradient   a forward convolution of dy (dilated by the strides) with the filter flipped
 *                    in space and transposed in channels, stride 1, padding KH−1−padTop and
 *                    KW−1−padLeft:  dx[n,i,j,c] = Σ_{kh,kw,f} dyd[n, i+padTop−kh, j+padLeft−kw, f]·w[kh,kw,c,f]
 *                    where dyd holds dy at multiples of the stride and zeros between (Note [dilation]).
 * Note [dilation]: for stride 1 dyd is dy itself. For larger strides the zeros are real (the GEMM
 * multiplies them), a cost of stride² that only strided convolutions pay.
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

function conv2dBackpropInput(dy: Tensor, filter: Tensor, dx: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2dBackpropInput', 'dy', dy, s.y);
  requireSize('conv2dBackpropInput', 'filter', filter, s.filter);
  requireSize('conv2dBackpropInput', 'dx', dx, s.x);
  const context = contextOf('conv2dBackpropInput', dx, dy, filter);
  const ex = context.exports;
  const { windowHeight: kh, windowWidth: kw, inChannels: c, outChannels: f, strideHeight: sh, strideWidth: sw } = g;
  const strided = sh !== 1 || sw !== 1;
  const dilatedH = (g.outHeight - 1) * sh + 1;
  const dilatedW = (g.outWidth - 1) * sw + 1;
  const filterBytes = s.filter * 4;
  const dilatedBytes = strided ? g.batch * dilatedH * dilatedW * f * 4 : 0;
  // One workspace: [GEMM panels | flipped filter | dilated dy], each part 64-byte aligned.
  const gemmBytes = ex.gemmWorkspaceBytes();
  const flippedAt = gemmBytes;
  const dilatedAt = flippedAt + Math.ceil(filterBytes / 64) * 64;
  withWorkspace(context, dilatedAt + dilatedBytes, (ws) => {
    const flipped = ws + flippedAt;
    ex.flipFilter(ptr(filter), flipped, kh, kw, c, f);
    let source = ptr(dy);
    if (strided) {
      source = ws + dilatedAt;
      ex.fill(source, 0, dilatedBytes / 4);
      ex.dilate(ptr(dy), source, g.batch, g.outHeight, g.outWidth, f, sh, sw);
    }
    ex.setWindow(g.batch, dilatedH, dilatedW, f, kh, kw, 1, 1, kh - 1 - g.padTop, kw - 1 - g.padLeft, g.inHeight, g.inWidth);
    const rows = g.batch * g.inHeight * g.inWidth;
    ex.gemm(A_IM2COL, source, 0, B_ROWS, flipped, c, ptr(dx), c, rows, c, kh * kw * f, 0, rows, 0, ws);
  });
}

export const convWasmKernels: ConvKernels = { conv2d, conv2dBackpropInput, conv2dBackpropFilter };
