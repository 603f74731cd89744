/**
 * col2im: the scatter half of a convolution's input gradient (shared/src/kernels/wasm/conv.ts
 * computes the gathered half, cols = dy · filterᵀ, with the GEMM). im2col: the explicit patch
 * matrix, for GEMMs that cannot gather while packing (the native backend's OpenBLAS).
 */
import { batch, inC, inH, inW, outH, outW, padLeft, padTop, strideH, strideW, winH, winW } from './window';

/**
 * col2im, the adjoint of im2col for the window of window.ts (batch images): dx = 0, then
 *   dx[n, oh·sh + kh − padTop, ow·sw + kw − padLeft, c] += cols[(n, oh, ow), (kh, kw, c)]
 * for every tap inside the image (taps in the padding are dropped). cols is [N·OH·OW, KH·KW·C]
 * row-major. Contributions reach a dx cell in (pixel, tap) order, fixed by the geometry alone.
 */
export function col2im(cols: usize, dx: usize): void {
  const cBytes = <usize>inC << 2;
  memory.fill(dx, 0, <usize>batch * <usize>inH * <usize>inW * cBytes);
  let src = cols;
  const tapRowBytes = <usize>winW * cBytes;
  for (let n = 0; n < batch; n++) {
    const image = dx + <usize>n * <usize>inH * <usize>inW * cBytes;
    for (let oh = 0; oh < outH; oh++) {
      const ih0 = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * strideW - padLeft;
        for (let kh = 0; kh < winH; kh++) {
          const ih = ih0 + kh;
          if (<u32>ih >= <u32>inH) {
            src += tapRowBytes;
            continue;
          }
          const row = image + <usize>ih * <usize>inW * cBytes;
          for (let kw = 0; kw < winW; kw++) {
            const iw = iw0 + kw;
            if (<u32>iw < <u32>inW) addRun(row + <usize>iw * cBytes, src, inC);
            src += cBytes;
          }
        }
      }
    }
  }
}

/** dst[0..n) += src[0..n). */
// @ts-ignore: decorator
@inline
function addRun(dst: usize, src: usize, n: i32): void {
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) v128.store(dst + i, f32x4.add(v128.load(dst + i), v128.load(src + i)));
  for (; i < end; i += 4) store<f32>(dst + i, load<f32>(dst + i) + load<f32>(src + i));
}

/**
 * im2col for the window of window.ts (batch images): the patch matrix
 *   cols[(n, oh, ow), (kh, kw, c)] = x[n, oh·sh + kh − padTop, ow·sw + kw − padLeft, c], 0 in the padding,
 * [N·OH·OW, KH·KW·C] row-major: a window row's taps are one run of KW·C floats where it lies inside.
 */
export function im2col(x: usize, cols: usize): void {
  if (inC < 4) {
    im2colNarrow(x, cols);
    return;
  }
  const cBytes = <usize>inC << 2;
  let dst = cols;
  const tapRowBytes = <usize>winW * cBytes;
  for (let n = 0; n < batch; n++) {
    const image = x + <usize>n * <usize>inH * <usize>inW * cBytes;
    for (let oh = 0; oh < outH; oh++) {
      const ih0 = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * strideW - padLeft;
        for (let kh = 0; kh < winH; kh++) {
          const ih = ih0 + kh;
          if (<u32>ih >= <u32>inH) {
            memory.fill(dst, 0, tapRowBytes);
            dst += tapRowBytes;
            continue;
          }
          const row = image + <usize>ih * <usize>inW * cBytes;
          const first = min(winW, max(0, -iw0));
          const last = max(first, min(winW, inW - iw0));
          zeroRun(dst, <usize>first * cBytes);
          copyRun(dst + <usize>first * cBytes, row + <usize>(iw0 + first) * cBytes, <usize>(last - first) * cBytes);
          zeroRun(dst + <usize>last * cBytes, <usize>(winW - last) * cBytes);
          dst += tapRowBytes;
        }
      }
    }
  }
}

/**
 * im2col for fewer than four channels (a first layer on grey or RGB images), where a window row is
 * a run of only KW·C floats and the per-run bookkeeping of `im2col` cost more than the copying
 * (≈ 1 ms for MNIST's [32, 28, 28, 1], 3×3). Here one output row of pixels is filled tap by tap:
 * for tap (kh, kw) the cells x[ih, ow·sw + kw − padLeft, ·] of consecutive ow go to one column of
 * the row's patches, a strided walk through an L1-sized block of cols. Same matrix as `im2col`.
 */
function im2colNarrow(x: usize, cols: usize): void {
  const cBytes = <usize>inC << 2;
  const pixelBytes = <usize>(winH * winW) * cBytes;
  const stepBytes = <usize>strideW * cBytes;
  let rowPatches = cols;
  for (let n = 0; n < batch; n++) {
    const image = x + <usize>n * <usize>inH * <usize>inW * cBytes;
    for (let oh = 0; oh < outH; oh++) {
      for (let kh = 0; kh < winH; kh++) {
        const ih = oh * strideH - padTop + kh;
        const inside = <u32>ih < <u32>inH;
        const row = image + <usize>(inside ? ih : 0) * <usize>inW * cBytes;
        for (let kw = 0; kw < winW; kw++) {
          // Output columns [lo, hi) read inside the image row; the others are padding.
          const lo = inside ? min(outW, ceilDiv(padLeft - kw, strideW)) : 0;
          const hi = inside ? max(lo, min(outW, ceilDiv(inW + padLeft - kw, strideW))) : 0;
          let dst = rowPatches + <usize>(kh * winW + kw) * cBytes;
          for (let ow = 0; ow < lo; ow++) {
            zeroRun(dst, cBytes);
            dst += pixelBytes;
          }
          let src = row + <usize>(lo * strideW + kw - padLeft) * cBytes;
          if (inC == 1) {
            for (let ow = lo; ow < hi; ow++) {
              store<f32>(dst, load<f32>(src));
              dst += pixelBytes;
              src += stepBytes;
            }
          } else {
            for (let ow = lo; ow < hi; ow++) {
              copyRun(dst, src, cBytes);
              dst += pixelBytes;
              src += stepBytes;
            }
          }
          for (let ow = hi; ow < outW; ow++) {
            zeroRun(dst, cBytes);
            dst += pixelBytes;
          }
        }
      }
      rowPatches += <usize>outW * pixelBytes;
    }
  }
}

/** ⌈a / b⌉ for b > 0, and 0 for a ≤ 0. */
// @ts-ignore: decorator
@inline
function ceilDiv(a: i32, b: i32): i32 {
  return a <= 0 ? 0 : (a + b - 1) / b;
}

/**
 * Runs of a few floats (KW·C: 12 bytes for a one-channel 3×3 window): plain vector and scalar
 * stores, because memory.copy / memory.fill cost a call each, which dominated im2col there.
 */
// @ts-ignore: decorator
@inline
function copyRun(dst: usize, src: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(src + i));
}

// @ts-ignore: decorator
@inline
function zeroRun(dst: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, i32x4.splat(0));
  for (; i < bytes; i += 4) store<f32>(dst + i, 0);
}
