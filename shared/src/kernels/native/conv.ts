import type { Tensor } from '../../tensor/tensor.js';
import type { ConvKernels, WindowGeometry } from '../signatures/conv.js';
import { requireSize } from '../wasm/checks.js';
import { contextOf, ptr, withWorkspace } from '../wasm/context.js';
import type { WasmContext } from '../wasm/context.js';
import { currentBuffer } from '../wasm/memory.js';
import { setWindow, windowSizes as sizes } from '../wasm/window.js';
import { nativeAddon } from './addon.js';

/**
 * Convolutions as OpenBLAS GEMMs on an explicit patch matrix. OpenBLAS packs its operands itself
 * and cannot gather the patches while packing, as the WebAssembly GEMM does, so the patches of a
 * few images at a time are written out by the WebAssembly im2col and multiplied:
 *   forward          out[PQ·n, F]   = cols[PQ·n, KH·KW·C] · filter[KH·KW·C, F]
 *   filter gradient  dW[KH·KW·C, F] = Σ over chunks colsᵀ · dy[PQ·n, F]  (chunks in image order)
 *   input gradient   cols = dy · filterᵀ, then dx = col2im(cols), as in wasm/conv.ts
 * Note [image chunks] in wasm/conv.ts bounds cols; the chunking depends on the geometry alone, so a
 * result does not depend on which thread computes it.
 */
const COLS_BYTES = 16 * 1024 * 1024;

/**
 * Note [shallow windows]: a window of few taps (MNIST CNN's first layer: 3×3 on one channel, 9)
 * used to stay on the WebAssembly GEMM, because writing its patches out cost more than the
 * WebAssembly GEMM's gathering while it packs. With the narrow-channel im2col
 * (shared/assembly/conv.ts, im2colNarrow: ≈ 0.33 → 0.10 ms for [32, 28, 28, 1], 3×3) OpenBLAS wins
 * there too; measured side by side in one process, that layer, micro-batch 32, WebAssembly vs
 * OpenBLAS, 2026-11-30: forward 0.54 vs 0.23 ms, filter gradient 0.56 vs 0.31, input gradient
 * 1.03 vs 0.62. Every convolution therefore runs on OpenBLAS.
 */

interface Chunking {
  readonly pixels: number;
  readonly depth: number;
  readonly images: number;
}

function chunking(g: WindowGeometry): Chunking {
  const pixels = g.outHeight * g.outWidth;
  const depth = g.windowHeight * g.windowWidth * g.inChannels;
  const images = Math.max(1, Math.min(g.batch, Math.floor(COLS_BYTES / Math.max(1, pixels * depth * 4))));
  return { pixels, depth, images };
}

/** Runs `body(n0, count, cols)` over chunks of whole images with a patch buffer from the scratch arena. */
function forEachChunk(context: WasmContext, g: WindowGeometry, c: Chunking, body: (n0: number, count: number, cols: Float32Array) => void): void {
  withWorkspace(context, c.images * c.pixels * c.depth * 4, (ws) => {
    const cols = new Float32Array(currentBuffer(context.memory), ws, c.images * c.pixels * c.depth);
    for (let n0 = 0; n0 < g.batch; n0 += c.images) {
      const count = Math.min(c.images, g.batch - n0);
      body(n0, count, cols.subarray(0, count * c.pixels * c.depth));
    }
  });
}

function conv2d(x: Tensor, filter: Tensor, out: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2d', 'x', x, s.x);
  requireSize('conv2d', 'filter', filter, s.filter);
  requireSize('conv2d', 'out', out, s.y);
  const context = contextOf('conv2d', out, x, filter);
  const c = chunking(g);
  const f = g.outChannels;
  const imageFloats = g.inHeight * g.inWidth * g.inChannels;
  forEachChunk(context, g, c, (n0, count, cols) => {
    const rows = count * c.pixels;
    setWindow(context, { ...g, batch: count });
    context.exports.im2col(ptr(x) + n0 * imageFloats * 4, cols.byteOffset);
    nativeAddon().sgemm(cols, filter.data, out.data.subarray(n0 * c.pixels * f, n0 * c.pixels * f + rows * f), rows, f, c.depth, c.depth, f, f, false, false, 0);
  });
}

function conv2dBackpropFilter(x: Tensor, dy: Tensor, dFilter: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2dBackpropFilter', 'x', x, s.x);
  requireSize('conv2dBackpropFilter', 'dy', dy, s.y);
  requireSize('conv2dBackpropFilter', 'dFilter', dFilter, s.filter);
  const context = contextOf('conv2dBackpropFilter', dFilter, x, dy);
  const c = chunking(g);
  const f = g.outChannels;
  const imageFloats = g.inHeight * g.inWidth * g.inChannels;
  if (g.batch === 0) dFilter.data.fill(0);
  forEachChunk(context, g, c, (n0, count, cols) => {
    const rows = count * c.pixels;
    setWindow(context, { ...g, batch: count });
    context.exports.im2col(ptr(x) + n0 * imageFloats * 4, cols.byteOffset);
    const dyChunk = dy.data.subarray(n0 * c.pixels * f, n0 * c.pixels * f + rows * f);
    nativeAddon().sgemm(cols, dyChunk, dFilter.data, c.depth, f, rows, c.depth, f, f, true, false, n0 === 0 ? 0 : 1);
  });
}

function conv2dBackpropInput(dy: Tensor, filter: Tensor, dx: Tensor, g: WindowGeometry): void {
  const s = sizes(g);
  requireSize('conv2dBackpropInput', 'dy', dy, s.y);
  requireSize('conv2dBackpropInput', 'filter', filter, s.filter);
  requireSize('conv2dBackpropInput', 'dx', dx, s.x);
  const context = contextOf('conv2dBackpropInput', dx, dy, filter);
  const c = chunking(g);
  const f = g.outChannels;
  const imageFloats = g.inHeight * g.inWidth * g.inChannels;
  forEachChunk(context, g, c, (n0, count, cols) => {
    const rows = count * c.pixels;
    const dyChunk = dy.data.subarray(n0 * c.pixels * f, n0 * c.pixels * f + rows * f);
    nativeAddon().sgemm(dyChunk, filter.data, cols, rows, c.depth, f, f, f, c.depth, false, true, 0);
    setWindow(context, { ...g, batch: count });
    context.exports.col2im(cols.byteOffset, ptr(dx) + n0 * imageFloats * 4);
  });
}

export const convNativeKernels: ConvKernels = { conv2d, conv2dBackpropInput, conv2dBackpropFilter };
