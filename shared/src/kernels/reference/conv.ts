import type { Tensor } from '../../tensor/tensor.js';
import type { ConvKernels, WindowGeometry } from '../signatures/conv.js';

/**
 * Direct-loop convolution, NHWC, filters [KH, KW, C, F]. The three kernels are one sum,
 *   y[n,oh,ow,f] = Σ_{kh,kw,c} x[n, oh·s − pad + kh, ow·s − pad + kw, c] · filter[kh,kw,c,f],
 * read three ways, so they share its index walk (`forEachTap`) and differ only in the line that
 * accumulates. Sums are float64, rounded to float32 once at the end.
 */

/** Input row/column of tap (o, k), or −1 when it falls in the padding. */
function inputIndex(o: number, k: number, stride: number, pad: number, size: number): number {
  const i = o * stride - pad + k;
  return i >= 0 && i < size ? i : -1;
}

/**
 * Calls `visit` for every (output pixel, filter tap) pair whose tap reads a real input pixel;
 * taps in the zero padding contribute nothing and are skipped. The offsets are flat indices of
 * the input pixel's C channels, of the tap's [C, F] filter block, and of the output pixel's F
 * channels. The order (n, oh, ow, kh, kw) is fixed, so every sum is accumulated in the same order.
 */
function forEachTap(g: WindowGeometry, visit: (xBase: number, kBase: number, yBase: number) => void): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: F } = g;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const yBase = ((n * OH + oh) * OW + ow) * F;
        for (let kh = 0; kh < g.windowHeight; kh++) {
          const ih = inputIndex(oh, kh, g.strideHeight, g.padTop, H);
          if (ih < 0) continue;
          for (let kw = 0; kw < g.windowWidth; kw++) {
            const iw = inputIndex(ow, kw, g.strideWidth, g.padLeft, W);
            if (iw < 0) continue;
            visit(((n * H + ih) * W + iw) * C, (kh * g.windowWidth + kw) * C * F, yBase);
          }
        }
      }
    }
  }
}

/** y[n,oh,ow,f] = Σ over the taps of (oh,ow) of x[n,ih,iw,c]·filter[kh,kw,c,f]. */
function conv2d(x: Tensor, filter: Tensor, out: Tensor, g: WindowGeometry): void {
  const { inChannels: C, outChannels: F } = g;
  const X = x.data;
  const K = filter.data;
  const acc = new Float64Array(out.size);
  forEachTap(g, (xBase, kBase, yBase) => {
    for (let c = 0; c < C; c++) {
      const xv = X[xBase + c]!;
      const kRow = kBase + c * F;
      for (let f = 0; f < F; f++) acc[yBase + f]! += xv * K[kRow + f]!;
    }
  });
  out.data.set(acc);
}

/** dx[n,ih,iw,c] = Σ over taps that read (ih,iw) of dy[n,oh,ow,f]·filter[kh,kw,c,f]. */
function conv2dBackpropInput(dy: Tensor, filter: Tensor, dx: Tensor, g: WindowGeometry): void {
  const { inChannels: C, outChannels: F } = g;
  const D = dy.data;
  const K = filter.data;
  const acc = new Float64Array(dx.size);
  forEachTap(g, (xBase, kBase, yBase) => {
    for (let c = 0; c < C; c++) {
      const kRow = kBase + c * F;
      let s = 0;
      for (let f = 0; f < F; f++) s += D[yBase + f]! * K[kRow + f]!;
      acc[xBase + c]! += s;
    }
  });
  dx.data.set(acc);
}

/** dFilter[kh,kw,c,f] = Σ_{n,oh,ow} x[n,ih,iw,c]·dy[n,oh,ow,f]. */
function conv2dBackpropFilter(x: Tensor, dy: Tensor, dFilter: Tensor, g: WindowGeometry): void {
  const { inChannels: C, outChannels: F } = g;
  const X = x.data;
  const D = dy.data;
  const acc = new Float64Array(dFilter.size);
  forEachTap(g, (xBase, kBase, yBase) => {
    for (let c = 0; c < C; c++) {
      const xv = X[xBase + c]!;
      const kRow = kBase + c * F;
      for (let f = 0; f < F; f++) acc[kRow + f]! += xv * D[yBase + f]!;
    }
  });
  dFilter.data.set(acc);
}

export const convReferenceKernels: ConvKernels = { conv2d, conv2dBackpropInput, conv2dBackpropFilter };
