/**
 * Packing of GEMM operands into the layout the 4×8 micro-kernel streams through.
 *
 * A block (rows [i0, i0+mc) × depth [p0, p0+kc)) becomes panels of MR = 4 rows, each panel
 * depth-major: panel[k·4 + r]. A B block (depth × columns [j0, j0+nc)) becomes panels of NR = 8
 * columns: panel[k·8 + c]. Rows/columns past the edge of the matrix are packed as zeros, so the
 * micro-kernel always computes a full tile and the driver stores only the valid part.
 *
 * Every operand layout the engine needs is a packing mode, which is what lets one micro-kernel
 * serve all transposes and the convolutions without materialising im2col matrices:
 *   A_ROWS      a is [M, K] row-major (lda = row stride)
 *   A_COLS      a is [K, M] (op(a) = aᵀ)
 *   A_IM2COL    rows = output pixels (n, oh, ow), depth = (kh, kw, c) of the window over x (NHWC)
 *   A_IM2COL_T  rows = (kh, kw, c), depth = output pixels: im2col(x)ᵀ, for the filter gradient
 *   B_ROWS      b is [K, N] row-major
 *   B_COLS      b is [N, K] (op(b) = bᵀ)
 */
import { inC, inH, inW, outH, outW, padLeft, padTop, strideH, strideW, winW } from './window';

export const MR: i32 = 4;
export const NR: i32 = 8;

export const A_ROWS: i32 = 0;
export const A_COLS: i32 = 1;
export const A_IM2COL: i32 = 2;
export const A_IM2COL_T: i32 = 3;
export const B_ROWS: i32 = 0;
export const B_COLS: i32 = 1;

/** Packs rows [i0, i0+mc) (valid below m) × depth [p0, p0+kc) of op(a) into ap. */
export function packA(mode: i32, a: usize, lda: i32, m: i32, i0: i32, mc: i32, p0: i32, kc: i32, ap: usize): void {
  for (let q = 0; q < mc; q += MR) {
    const panel = ap + (<usize>q * <usize>kc << 2);
    const row0 = i0 + q;
    if (mode == A_COLS && row0 + MR <= m) {
      // Four adjacent rows of op(a) are four adjacent floats of one row of a.
      let src = a + ((<usize>p0 * <usize>lda + <usize>row0) << 2);
      const step = <usize>lda << 2;
      for (let k = 0; k < kc; k++) {
        v128.store(panel + (<usize>k << 4), v128.load(src));
        src += step;
      }
      continue;
    }
    for (let r = 0; r < MR; r++) {
      const row = row0 + r;
      const dst = panel + (<usize>r << 2);
      if (row >= m) {
        for (let k = 0; k < kc; k++) store<f32>(dst + (<usize>k << 4), 0);
      } else if (mode == A_ROWS) {
        const src = a + ((<usize>row * <usize>lda + <usize>p0) << 2);
        for (let k = 0; k < kc; k++) store<f32>(dst + (<usize>k << 4), load<f32>(src + (<usize>k << 2)));
      } else if (mode == A_COLS) {
        let src = a + ((<usize>p0 * <usize>lda + <usize>row) << 2);
        const step = <usize>lda << 2;
        for (let k = 0; k < kc; k++) {
          store<f32>(dst + (<usize>k << 4), load<f32>(src));
          src += step;
        }
      } else if (mode == A_IM2COL) {
        packIm2colRow(a, row, p0, kc, dst);
      } else {
        packIm2colTransposedRow(a, row, p0, kc, dst);
      }
    }
  }
}

/** One output pixel's window, depth [p0, p0+kc) in (kh, kw, c) order, channel runs copied at once. */
function packIm2colRow(x: usize, pixel: i32, p0: i32, kc: i32, dst: usize): void {
  const perImage = outH * outW;
  const n = pixel / perImage;
  const rem = pixel - n * perImage;
  const oh = rem / outW;
  const ow = rem - oh * outW;
  const ih0 = oh * strideH - padTop;
  const iw0 = ow * strideW - padLeft;
  const t = p0 / inC;
  let c = p0 - t * inC;
  let kh = t / winW;
  let kw = t - kh * winW;
  let k = 0;
  while (k < kc) {
    const run = min(inC - c, kc - k);
    const ih = ih0 + kh;
    const iw = iw0 + kw;
    const out = dst + (<usize>k << 4);
    if (<u32>ih < <u32>inH && <u32>iw < <u32>inW) {
      const src = x + ((((<usize>n * <usize>inH + <usize>ih) * <usize>inW + <usize>iw) * <usize>inC + <usize>c) << 2);
      for (let j = 0; j < run; j++) store<f32>(out + (<usize>j << 4), load<f32>(src + (<usize>j << 2)));
    } else {
      for (let j = 0; j < run; j++) store<f32>(out + (<usize>j << 4), 0);
    }
    k += run;
    c = 0;
    if (++kw == winW) {
      kw = 0;
      kh++;
    }
  }
}

/** One window offset (kh, kw, c) over the output pixels [p0, p0+kc). */
function packIm2colTransposedRow(x: usize, row: i32, p0: i32, kc: i32, dst: usize): void {
  const t = row / inC;
  const c = row - t * inC;
  const kh = t / winW;
  const kw = t - kh * winW;
  const perImage = outH * outW;
  let n = p0 / perImage;
  const rem = p0 - n * perImage;
  let oh = rem / outW;
  let ow = rem - oh * outW;
  const rowStride = <usize>inW * <usize>inC;
  for (let k = 0; k < kc; k++) {
    const ih = oh * strideH - padTop + kh;
    const iw = ow * strideW - padLeft + kw;
    let v: f32 = 0;
    if (<u32>ih < <u32>inH && <u32>iw < <u32>inW) {
      v = load<f32>(x + (((<usize>n * <usize>inH + <usize>ih) * rowStride + <usize>iw * <usize>inC + <usize>c) << 2));
    }
    store<f32>(dst + (<usize>k << 4), v);
    if (++ow == outW) {
      ow = 0;
      if (++oh == outH) {
        oh = 0;
        n++;
      }
    }
  }
}

/** Packs depth [p0, p0+kc) × columns [j0, j0+nc) (valid below n) of op(b) into bp. */
export function packB(mode: i32, b: usize, ldb: i32, n: i32, p0: i32, kc: i32, j0: i32, nc: i32, bp: usize): void {
  for (let q = 0; q < nc; q += NR) {
    const panel = bp + (<usize>q * <usize>kc << 2);
    const col0 = j0 + q;
    if (mode == B_ROWS && col0 + NR <= n) {
      let src = b + ((<usize>p0 * <usize>ldb + <usize>col0) << 2);
      const step = <usize>ldb << 2;
      for (let k = 0; k < kc; k++) {
        const dst = panel + (<usize>k << 5);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += step;
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const col = col0 + c;
      const dst = panel + (<usize>c << 2);
      if (col >= n) {
        for (let k = 0; k < kc; k++) store<f32>(dst + (<usize>k << 5), 0);
      } else if (mode == B_ROWS) {
        let src = b + ((<usize>p0 * <usize>ldb + <usize>col) << 2);
        const step = <usize>ldb << 2;
        for (let k = 0; k < kc; k++) {
          store<f32>(dst + (<usize>k << 5), load<f32>(src));
          src += step;
        }
      } else {
        const src = b + ((<usize>col * <usize>ldb + <usize>p0) << 2);
        for (let k = 0; k < kc; k++) store<f32>(dst + (<usize>k << 5), load<f32>(src + (<usize>k << 2)));
      }
    }
  }
}
