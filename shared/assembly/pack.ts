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
    if (mode == A_ROWS && row0 + MR <= m) {
      packRowsTransposed(a + ((<usize>row0 * <usize>lda + <usize>p0) << 2), <usize>lda << 2, kc, panel, 16);
      continue;
    }
    if (mode == A_IM2COL) {
      packIm2colPanel(a, row0, m, p0, kc, panel);
      continue;
    }
    if (mode == A_IM2COL_T) {
      packIm2colTransposedPanel(a, row0, m, p0, kc, panel);
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
      } else {
        let src = a + ((<usize>p0 * <usize>lda + <usize>row) << 2);
        const step = <usize>lda << 2;
        for (let k = 0; k < kc; k++) {
          store<f32>(dst + (<usize>k << 4), load<f32>(src));
          src += step;
        }
      }
    }
  }
}

/**
 * Four output pixels (rows row0..row0+3) × depth [p0, p0+kc) in (kh, kw, c) order. The depth walk
 * is the same for the four pixels, so each (kh, kw) segment is a run of channels read from four
 * places of x at once and transposed 4×4 into the panel; cells in the padding (or rows past m)
 * read as zero.
 */
function packIm2colPanel(x: usize, row0: i32, m: i32, p0: i32, kc: i32, panel: usize): void {
  const perImage = outH * outW;
  let n = row0 / perImage;
  const rem = row0 - n * perImage;
  let oh = rem / outW;
  let ow = rem - oh * outW;
  if (inC == 1 && strideW == 1 && ow + MR <= outW && row0 + MR <= m) {
    packOneChannelRun(x, n, oh * strideH - padTop, ow - padLeft, p0, kc, panel);
    return;
  }
  // Window origin (may be negative: padding) and image of each of the four rows; n = -1 marks a row past m.
  let n0 = -1, n1 = -1, n2 = -1, n3 = -1;
  let h0 = 0, h1 = 0, h2 = 0, h3 = 0;
  let w0 = 0, w1 = 0, w2 = 0, w3 = 0;
  for (let r = 0; r < MR; r++) {
    const valid = row0 + r < m;
    const img = valid ? n : -1;
    const ih = oh * strideH - padTop;
    const iw = ow * strideW - padLeft;
    if (r == 0) { n0 = img; h0 = ih; w0 = iw; }
    else if (r == 1) { n1 = img; h1 = ih; w1 = iw; }
    else if (r == 2) { n2 = img; h2 = ih; w2 = iw; }
    else { n3 = img; h3 = ih; w3 = iw; }
    if (++ow == outW) {
      ow = 0;
      if (++oh == outH) {
        oh = 0;
        n++;
      }
    }
  }
  const t = p0 / inC;
  let c = p0 - t * inC;
  let kh = t / winW;
  let kw = t - kh * winW;
  let k = 0;
  const zero = f32x4.splat(0);
  while (k < kc) {
    const run = min(inC - c, kc - k);
    const s0 = windowCell(x, n0, h0 + kh, w0 + kw, c);
    const s1 = windowCell(x, n1, h1 + kh, w1 + kw, c);
    const s2 = windowCell(x, n2, h2 + kh, w2 + kw, c);
    const s3 = windowCell(x, n3, h3 + kh, w3 + kw, c);
    let dst = panel + (<usize>k << 4);
    let j = 0;
    for (; j + 4 <= run; j += 4) {
      const off = <usize>j << 2;
      const v0 = s0 ? v128.load(s0 + off) : zero;
      const v1 = s1 ? v128.load(s1 + off) : zero;
      const v2 = s2 ? v128.load(s2 + off) : zero;
      const v3 = s3 ? v128.load(s3 + off) : zero;
      const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
      const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
      v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
      v128.store(dst, i64x2.shuffle(t0, t1, 1, 3), 16);
      v128.store(dst, i64x2.shuffle(t2, t3, 0, 2), 32);
      v128.store(dst, i64x2.shuffle(t2, t3, 1, 3), 48);
      dst += 64;
    }
    for (; j < run; j++) {
      const off = <usize>j << 2;
      store<f32>(dst, s0 ? load<f32>(s0 + off) : 0);
      store<f32>(dst, s1 ? load<f32>(s1 + off) : 0, 4);
      store<f32>(dst, s2 ? load<f32>(s2 + off) : 0, 8);
      store<f32>(dst, s3 ? load<f32>(s3 + off) : 0, 12);
      dst += 16;
    }
    k += run;
    c = 0;
    if (++kw == winW) {
      kw = 0;
      kh++;
    }
  }
}

/**
 * The panel of four horizontally adjacent output pixels of one output row, for one input channel
 * and stride 1 along the width (a first layer over grey images). The general path would move one
 * float per (pixel, tap); here each tap's four values are x[n, ih0 + kh, iw0 + kw + 0..3], adjacent
 * in memory, so a panel column is one 16-byte load, or zeros when the tap's row is padding, or a
 * per-lane copy when the four cells straddle the left/right padding.
 */
function packOneChannelRun(x: usize, n: i32, ih0: i32, iw0: i32, p0: i32, kc: i32, panel: usize): void {
  let kh = p0 / winW;
  let kw = p0 - kh * winW;
  let dst = panel;
  const rowBytes = <usize>inW << 2;
  for (let k = 0; k < kc; k++) {
    const ih = ih0 + kh;
    const iw = iw0 + kw;
    if (<u32>ih >= <u32>inH) {
      v128.store(dst, f32x4.splat(0));
    } else {
      const row = x + (<usize>n * <usize>inH + <usize>ih) * rowBytes;
      if (iw >= 0 && iw + MR <= inW) {
        v128.store(dst, v128.load(row + (<usize>iw << 2)));
      } else {
        for (let r = 0; r < MR; r++) {
          const w = iw + r;
          store<f32>(dst + (<usize>r << 2), <u32>w < <u32>inW ? load<f32>(row + (<usize>w << 2)) : 0);
        }
      }
    }
    dst += 16;
    if (++kw == winW) {
      kw = 0;
      kh++;
    }
  }
}

/** Address of x[n, ih, iw, c], or 0 when the cell is padding or n < 0 (a row past the matrix). */
// @ts-ignore: decorator
@inline
function windowCell(x: usize, n: i32, ih: i32, iw: i32, c: i32): usize {
  if (n < 0 || <u32>ih >= <u32>inH || <u32>iw >= <u32>inW) return 0;
  return x + ((((<usize>n * <usize>inH + <usize>ih) * <usize>inW + <usize>iw) * <usize>inC + <usize>c) << 2);
}

/**
 * Four window offsets (kh, kw, c) (rows row0..row0+3) × output pixels [p0, p0+kc): im2col(x)ᵀ.
 * Pixels are walked in runs along one output row, where consecutive pixels read x at a fixed
 * stride. When the four rows are four consecutive channels of one (kh, kw) (C a multiple of 4),
 * one 16-byte load fills a whole panel column.
 */
function packIm2colTransposedPanel(x: usize, row0: i32, m: i32, p0: i32, kc: i32, panel: usize): void {
  const t = row0 / inC;
  const c0 = row0 - t * inC;
  const kh0 = t / winW;
  const kw0 = t - kh0 * winW;
  const together = row0 + MR <= m && c0 + MR <= inC;
  const perImage = outH * outW;
  const pixelStep = <usize>strideW * <usize>inC << 2;
  const rowsToPack = together ? 1 : MR;
  for (let r = 0; r < rowsToPack; r++) {
    const row = row0 + r;
    const dst0 = panel + (<usize>r << 2);
    if (row >= m) {
      for (let k = 0; k < kc; k++) store<f32>(dst0 + (<usize>k << 4), 0);
      continue;
    }
    const tr = row / inC;
    const c = row - tr * inC;
    const kh = tr / winW;
    const kw = tr - kh * winW;
    let n = p0 / perImage;
    const rem = p0 - n * perImage;
    let oh = rem / outW;
    let ow = rem - oh * outW;
    let k = 0;
    while (k < kc) {
      const run = min(outW - ow, kc - k);
      const ih = oh * strideH - padTop + kh;
      let iw = ow * strideW - padLeft + kw;
      let dst = dst0 + (<usize>k << 4);
      if (<u32>ih >= <u32>inH) {
        for (let j = 0; j < run; j++) {
          if (together) v128.store(dst, f32x4.splat(0));
          else store<f32>(dst, 0);
          dst += 16;
        }
      } else {
        // While iw < 0 (left padding) src points before the row (wrapping u32 arithmetic); it is
        // read only once iw is in range.
        let src = x + ((((<usize>n * <usize>inH + <usize>ih) * <usize>inW) * <usize>inC + <usize>c) << 2) + ((<usize>iw * <usize>inC) << 2);
        if (together) {
          for (let j = 0; j < run; j++) {
            v128.store(dst, <u32>iw < <u32>inW ? v128.load(src) : f32x4.splat(0));
            iw += strideW;
            src += pixelStep;
            dst += 16;
          }
        } else {
          for (let j = 0; j < run; j++) {
            store<f32>(dst, <u32>iw < <u32>inW ? load<f32>(src) : 0);
            iw += strideW;
            src += pixelStep;
            dst += 16;
          }
        }
      }
      k += run;
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
    if (mode == B_COLS && col0 + NR <= n) {
      // Eight columns of op(b) are eight rows of b: two 4-row halves, each transposed 4×4.
      const src = b + ((<usize>col0 * <usize>ldb + <usize>p0) << 2);
      const step = <usize>ldb << 2;
      packRowsTransposed(src, step, kc, panel, 32);
      packRowsTransposed(src + (step << 2), step, kc, panel + 16, 32);
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

/**
 * Four rows of a row-major matrix (the first at src, rowBytes apart), depth [0, kc), into four
 * lanes of a panel whose depth steps are panelStep bytes apart: panel[k] = (r0[k], r1[k], r2[k], r3[k]).
 * Four depth steps at a time are one 4×4 transpose in registers.
 */
function packRowsTransposed(src: usize, rowBytes: usize, kc: i32, panel: usize, panelStep: usize): void {
  const s1 = src + rowBytes;
  const s2 = s1 + rowBytes;
  const s3 = s2 + rowBytes;
  let dst = panel;
  let k = 0;
  for (; k + 4 <= kc; k += 4) {
    const off = <usize>k << 2;
    const v0 = v128.load(src + off);
    const v1 = v128.load(s1 + off);
    const v2 = v128.load(s2 + off);
    const v3 = v128.load(s3 + off);
    const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
    const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
    const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
    v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
    v128.store(dst + panelStep, i64x2.shuffle(t0, t1, 1, 3));
    v128.store(dst + panelStep * 2, i64x2.shuffle(t2, t3, 0, 2));
    v128.store(dst + panelStep * 3, i64x2.shuffle(t2, t3, 1, 3));
    dst += panelStep << 2;
  }
  for (; k < kc; k++) {
    const off = <usize>k << 2;
    store<f32>(dst, load<f32>(src + off));
    store<f32>(dst, load<f32>(s1 + off), 4);
    store<f32>(dst, load<f32>(s2 + off), 8);
    store<f32>(dst, load<f32>(s3 + off), 12);
    dst += panelStep;
  }
}
