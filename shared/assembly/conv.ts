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
