import type { Tensor } from '../../tensor/tensor.js';
import type { ConvKernels, WindowGeometry } from '../signatures/conv.js';

/**
 * Direct-loop convolution, NHWC, filters [KH, KW, C, F]. Every kernel walks the same
 * (n, oh, ow, kh, kw) nest and skips taps that land in the zero padding, so the three
 * functions are visibly the same sum read three ways. Sums are float64.
 */

/** Input row/column of tap (o, k), or −1 when it falls in the padding. */
function inputIndex(o: number, k: number, stride: number, pad: number, size: number): number {
  const i = o * stride - pad + k;
  return i >= 0 && i < size ? i : -1;
}

function conv2d(x: Tensor, filter: Tensor, out: Tensor, g: WindowGeometry): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: F } = g;
  const X = x.data;
  const K = filter.data;
  const O = out.data;
  const acc = new Float64Array(F);
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        acc.fill(0);
        for (let kh = 0; kh < g.windowHeight; kh++) {
          const ih = inputIndex(oh, kh, g.strideHeight, g.padTop, H);
          if (ih < 0) continue;
          for (let kw = 0; kw < g.windowWidth; kw++) {
            const iw = inputIndex(ow, kw, g.strideWidth, g.padLeft, W);
            if (iw < 0) continue;
            const xBase = ((n * H + ih) * W + iw) * C;
            const kBase = (kh * g.windowWidth + kw) * C * F;
            for (let c = 0; c < C; c++) {
              const xv = X[xBase + c]!;
              const kRow = kBase + c * F;
              for (let f = 0; f < F; f++) acc[f]! += xv * K[kRow + f]!;
            }
          }
        }
        const oBase = ((n * OH + oh) * OW + ow) * F;
        for (let f = 0; f < F; f++) O[oBase + f] = acc[f]!;
      }
    }
  }
}

/** dx[n,ih,iw,c] = Σ over taps that read (ih,iw) of dy[n,oh,ow,f]·filter[kh,kw,c,f]. */
function conv2dBackpropInput(dy: Tensor, filter: Tensor, dx: Tensor, g: WindowGeometry): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: F } = g;
  const D = dy.data;
  const K = filter.data;
  const acc = new Float64Array(dx.size);
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dBase = ((n * OH + oh) * OW + ow) * F;
        for (let kh = 0; kh < g.windowHeight; kh++) {
          const ih = inputIndex(oh, kh, g.strideHeight, g.padTop, H);
          if (ih < 0) continue;
          for (let kw = 0; kw < g.windowWidth; kw++) {
            const iw = inputIndex(ow, kw, g.strideWidth, g.padLeft, W);
            if (iw < 0) continue;
            const xBase = ((n * H + ih) * W + iw) * C;
            const kBase = (kh * g.windowWidth + kw) * C * F;
            for (let c = 0; c < C; c++) {
              const kRow = kBase + c * F;
              let s = 0;
              for (let f = 0; f < F; f++) s += D[dBase + f]! * K[kRow + f]!;
              acc[xBase + c]! += s;
            }
          }
        }
      }
    }
  }
  dx.data.set(acc);
}

/** dFilter[kh,kw,c,f] = Σ_{n,oh,ow} x[n,ih,iw,c]·dy[n,oh,ow,f]. */
function conv2dBackpropFilter(x: Tensor, dy: Tensor, dFilter: Tensor, g: WindowGeometry): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: F } = g;
  const X = x.data;
  const D = dy.data;
  const acc = new Float64Array(dFilter.size);
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dBase = ((n * OH + oh) * OW + ow) * F;
        for (let kh = 0; kh < g.windowHeight; kh++) {
          const ih = inputIndex(oh, kh, g.strideHeight, g.padTop, H);
          if (ih < 0) continue;
          for (let kw = 0; kw < g.windowWidth; kw++) {
            const iw = inputIndex(ow, kw, g.strideWidth, g.padLeft, W);
            if (iw < 0) continue;
            const xBase = ((n * H + ih) * W + iw) * C;
            const kBase = (kh * g.windowWidth + kw) * C * F;
            for (let c = 0; c < C; c++) {
              const xv = X[xBase + c]!;
              const kRow = kBase + c * F;
              for (let f = 0; f < F; f++) acc[kRow + f]! += xv * D[dBase + f]!;
            }
          }
        }
      }
    }
  }
  dFilter.data.set(acc);
}

export const convReferenceKernels: ConvKernels = { conv2d, conv2dBackpropInput, conv2dBackpropFilter };
