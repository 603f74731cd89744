import type { Tensor } from '../../tensor/tensor.js';
import type { PoolingKernels, WindowGeometry } from '../signatures/conv.js';

/**
 * Pooling, NHWC. Windows are scanned row-major (kh, then kw); padding cells are skipped, so
 * they never win a max and never count towards an average (TensorFlow semantics). With TF
 * 'same' padding the total pad is below the window size, so every window holds a real cell.
 */

/** Calls `visit(outBase, taps)` per output cell: its NHWC offset and the offsets (channel 0) of its window's real cells. */
function forEachWindow(g: WindowGeometry, visit: (outBase: number, taps: readonly number[]) => void): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const taps: number[] = [];
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        taps.length = 0;
        for (let kh = 0; kh < g.windowHeight; kh++) {
          const ih = oh * g.strideHeight - g.padTop + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < g.windowWidth; kw++) {
            const iw = ow * g.strideWidth - g.padLeft + kw;
            if (iw < 0 || iw >= W) continue;
            taps.push(((n * H + ih) * W + iw) * C);
          }
        }
        visit(((n * OH + oh) * OW + ow) * C, taps);
      }
    }
  }
}

/** Index into X of the first maximum of channel c within the window (strict > keeps the first of ties). */
function firstMax(X: Float32Array, taps: readonly number[], c: number): number {
  let best = taps[0]! + c;
  for (let t = 1; t < taps.length; t++) {
    const i = taps[t]! + c;
    if (X[i]! > X[best]!) best = i;
  }
  return best;
}

function maxPool(x: Tensor, out: Tensor, g: WindowGeometry): void {
  const X = x.data;
  const O = out.data;
  forEachWindow(g, (outBase, taps) => {
    for (let c = 0; c < g.inChannels; c++) O[outBase + c] = X[firstMax(X, taps, c)]!;
  });
}

function maxPoolBackward(dy: Tensor, x: Tensor, dx: Tensor, g: WindowGeometry): void {
  const X = x.data;
  const D = dy.data;
  const acc = new Float64Array(dx.size);
  forEachWindow(g, (outBase, taps) => {
    for (let c = 0; c < g.inChannels; c++) acc[firstMax(X, taps, c)]! += D[outBase + c]!;
  });
  dx.data.set(acc);
}

function avgPool(x: Tensor, out: Tensor, g: WindowGeometry): void {
  const X = x.data;
  const O = out.data;
  forEachWindow(g, (outBase, taps) => {
    for (let c = 0; c < g.inChannels; c++) {
      let s = 0;
      for (const t of taps) s += X[t + c]!;
      O[outBase + c] = s / taps.length;
    }
  });
}

function avgPoolBackward(dy: Tensor, dx: Tensor, g: WindowGeometry): void {
  const D = dy.data;
  const acc = new Float64Array(dx.size);
  forEachWindow(g, (outBase, taps) => {
    for (let c = 0; c < g.inChannels; c++) {
      const share = D[outBase + c]! / taps.length;
      for (const t of taps) acc[t + c]! += share;
    }
  });
  dx.data.set(acc);
}

export const poolingReferenceKernels: PoolingKernels = { maxPool, maxPoolBackward, avgPool, avgPoolBackward };
