/**
 * Max and average pooling over NHWC with the window of window.ts. Channels are the contiguous
 * axis, so each window position is a run of C floats handled four at a time. Padding cells are
 * skipped (they never win a max and are not counted in an average), as in the reference.
 */
import { batch, inC, inH, inW, outH, outW, padLeft, padTop, strideH, strideW, winH, winW } from './window';

// @ts-ignore: decorator
@inline
function pixel(n: i32, h: i32, w: i32): usize {
  return ((<usize>n * <usize>inH + <usize>h) * <usize>inW + <usize>w) * <usize>inC << 2;
}

/** out = first maximum of each window (strict >, so ties keep the earliest cell in (kh, kw) order). */
export function maxPool(x: usize, out: usize): void {
  if (plainTwoByTwo()) {
    maxPool2x2(x, out, 0, false);
    return;
  }
  let o = out;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = max(oh * strideH - padTop, 0);
      const h1 = min(oh * strideH - padTop + winH, inH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = max(ow * strideW - padLeft, 0);
        const w1 = min(ow * strideW - padLeft + winW, inW);
        const first = x + pixel(n, h0, w0);
        let c = 0;
        for (; c + 4 <= inC; c += 4) {
          const off = <usize>c << 2;
          let best = v128.load(first + off);
          for (let h = h0; h < h1; h++) {
            for (let w = h == h0 ? w0 + 1 : w0; w < w1; w++) {
              const v = v128.load(x + pixel(n, h, w) + off);
              best = v128.bitselect(v, best, f32x4.gt(v, best));
            }
          }
          v128.store(o + off, best);
        }
        for (; c < inC; c++) {
          const off = <usize>c << 2;
          let best = load<f32>(first + off);
          for (let h = h0; h < h1; h++) {
            for (let w = h == h0 ? w0 + 1 : w0; w < w1; w++) {
              const v = load<f32>(x + pixel(n, h, w) + off);
              if (v > best) best = v;
            }
          }
          store<f32>(o + off, best);
        }
        o += <usize>inC << 2;
      }
    }
  }
}

/**
 * dx = 0, then each dy cell is added to the first maximum of its window, re-found from x with the
 * same scan as maxPool. Windows are visited in output order, so overlapping windows add to a cell
 * in a fixed order.
 *
 * Note [disjoint windows]: when the stride is at least the window (the usual 2×2 / 2 pooling) every
 * cell of x is in at most one window, so each window writes its cells outright — dy + 0 (the same
 * float add as the accumulating path, which turns −0 into +0) at the first maximum and 0 elsewhere —
 * instead of reading back a zeroed dx; dx is zeroed first only where windows leave cells uncovered.
 * Measured on MNIST CNN's first pooling ([32, 26, 26, 32]): ≈ 0.45 → ≈ 0.25 ms, 2026-11-30.
 */
export function maxPoolBackward(dy: usize, x: usize, dx: usize): void {
  if (plainTwoByTwo()) {
    maxPool2x2(x, dy, dx, true);
    return;
  }
  const disjoint = strideH >= winH && strideW >= winW;
  const covered = disjoint && padTop == 0 && padLeft == 0 && (outH - 1) * strideH + winH == inH && (outW - 1) * strideW + winW == inW;
  if (!covered) memory.fill(dx, 0, pixel(batch, 0, 0));
  const zero = f32x4.splat(0);
  let d = dy;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = max(oh * strideH - padTop, 0);
      const h1 = min(oh * strideH - padTop + winH, inH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = max(ow * strideW - padLeft, 0);
        const w1 = min(ow * strideW - padLeft + winW, inW);
        const firstOff = pixel(n, h0, w0);
        let c = 0;
        for (; c + 4 <= inC; c += 4) {
          const off = <usize>c << 2;
          let best = v128.load(x + firstOff + off);
          let where = i32x4.splat(<i32>firstOff);
          for (let h = h0; h < h1; h++) {
            for (let w = h == h0 ? w0 + 1 : w0; w < w1; w++) {
              const p = pixel(n, h, w);
              const v = v128.load(x + p + off);
              const wins = f32x4.gt(v, best);
              best = v128.bitselect(v, best, wins);
              where = v128.bitselect(i32x4.splat(<i32>p), where, wins);
            }
          }
          const g = dx + off;
          if (disjoint) {
            const share = f32x4.add(zero, v128.load(d + off));
            for (let h = h0; h < h1; h++) {
              for (let w = w0; w < w1; w++) {
                const p = pixel(n, h, w);
                v128.store(g + p, v128.bitselect(share, zero, i32x4.eq(where, i32x4.splat(<i32>p))));
              }
            }
            continue;
          }
          const at0 = g + <usize>i32x4.extract_lane(where, 0);
          store<f32>(at0, load<f32>(at0) + load<f32>(d + off));
          const at1 = g + <usize>i32x4.extract_lane(where, 1);
          store<f32>(at1, load<f32>(at1, 4) + load<f32>(d + off, 4), 4);
          const at2 = g + <usize>i32x4.extract_lane(where, 2);
          store<f32>(at2, load<f32>(at2, 8) + load<f32>(d + off, 8), 8);
          const at3 = g + <usize>i32x4.extract_lane(where, 3);
          store<f32>(at3, load<f32>(at3, 12) + load<f32>(d + off, 12), 12);
        }
        for (; c < inC; c++) {
          const off = <usize>c << 2;
          let best = load<f32>(x + firstOff + off);
          let where = firstOff;
          for (let h = h0; h < h1; h++) {
            for (let w = h == h0 ? w0 + 1 : w0; w < w1; w++) {
              const p = pixel(n, h, w);
              const v = load<f32>(x + p + off);
              if (v > best) {
                best = v;
                where = p;
              }
            }
          }
          if (disjoint) {
            const share: f32 = 0 + load<f32>(d + off);
            for (let h = h0; h < h1; h++) {
              for (let w = w0; w < w1; w++) {
                const p = pixel(n, h, w);
                store<f32>(dx + p + off, p == where ? share : 0);
              }
            }
            continue;
          }
          const at = dx + where + off;
          store<f32>(at, load<f32>(at) + load<f32>(d + off));
        }
        d += <usize>inC << 2;
      }
    }
  }
}

/**
 * Note [2×2 pooling]: the 2×2 window with stride 2 and no padding that covers x exactly (every CNN
 * here pools so) is unrolled: each output pixel reads four cells at fixed offsets, with no
 * per-cell address arithmetic, and the backward pass writes the four cells outright (Note
 * [disjoint windows]). Same first-maximum rule and same float adds as the general path.
 */
function plainTwoByTwo(): bool {
  return winH == 2 && winW == 2 && strideH == 2 && strideW == 2 && padTop == 0 && padLeft == 0 && outH * 2 == inH && outW * 2 == inW && (inC & 3) == 0;
}

/**
 * Forward (backward false): out = the first maximum of each window. Backward: dx = dy + 0 at the
 * first maximum of each window, 0 at its other three cells (a is dy then).
 */
function maxPool2x2(x: usize, a: usize, dx: usize, backward: bool): void {
  const cBytes = <usize>inC << 2;
  const rowBytes = <usize>inW * cBytes;
  const zero = f32x4.splat(0);
  let o = a;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const rowOff = pixel(n, oh * 2, 0);
      for (let ow = 0; ow < outW; ow++) {
        const p00 = rowOff + <usize>(ow * 2) * cBytes;
        const p01 = p00 + cBytes;
        const p10 = p00 + rowBytes;
        const p11 = p10 + cBytes;
        for (let off: usize = 0; off < cBytes; off += 16) {
          const v00 = v128.load(x + p00 + off);
          const v01 = v128.load(x + p01 + off);
          const v10 = v128.load(x + p10 + off);
          const v11 = v128.load(x + p11 + off);
          const m01 = f32x4.gt(v01, v00);
          const b1 = v128.bitselect(v01, v00, m01);
          const m10 = f32x4.gt(v10, b1);
          const b2 = v128.bitselect(v10, b1, m10);
          const m11 = f32x4.gt(v11, b2);
          if (!backward) {
            v128.store(o + off, v128.bitselect(v11, b2, m11));
            continue;
          }
          const share = f32x4.add(zero, v128.load(o + off));
          const later = v128.or(m10, m11);
          v128.store(dx + p11 + off, v128.and(share, m11));
          v128.store(dx + p10 + off, v128.and(share, v128.andnot(m10, m11)));
          v128.store(dx + p01 + off, v128.and(share, v128.andnot(m01, later)));
          v128.store(dx + p00 + off, v128.andnot(share, v128.or(m01, later)));
        }
        o += cBytes;
      }
    }
  }
}

/** out = mean of the window's real cells, summed in float64 in (kh, kw) order like the reference. */
export function avgPool(x: usize, out: usize): void {
  let o = out;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = max(oh * strideH - padTop, 0);
      const h1 = min(oh * strideH - padTop + winH, inH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = max(ow * strideW - padLeft, 0);
        const w1 = min(ow * strideW - padLeft + winW, inW);
        const count = f64x2.splat(<f64>((h1 - h0) * (w1 - w0)));
        let c = 0;
        for (; c + 2 <= inC; c += 2) {
          const off = <usize>c << 2;
          let s = f64x2.splat(0);
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              s = f64x2.add(s, f64x2.promote_low_f32x4(v128.load64_zero(x + pixel(n, h, w) + off)));
            }
          }
          v128.store64_lane(o + off, f32x4.demote_f64x2_zero(f64x2.div(s, count)), 0);
        }
        for (; c < inC; c++) {
          const off = <usize>c << 2;
          let s: f64 = 0;
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) s += <f64>load<f32>(x + pixel(n, h, w) + off);
          }
          store<f32>(o + off, <f32>(s / f64x2.extract_lane(count, 0)));
        }
        o += <usize>inC << 2;
      }
    }
  }
}

/** dx = 0, then each window's real cells receive dy / count (float32 adds in output order). */
export function avgPoolBackward(dy: usize, dx: usize): void {
  memory.fill(dx, 0, pixel(batch, 0, 0));
  let d = dy;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = max(oh * strideH - padTop, 0);
      const h1 = min(oh * strideH - padTop + winH, inH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = max(ow * strideW - padLeft, 0);
        const w1 = min(ow * strideW - padLeft + winW, inW);
        const count = <f64>((h1 - h0) * (w1 - w0));
        const countx2 = f64x2.splat(count);
        let c = 0;
        for (; c + 4 <= inC; c += 4) {
          const off = <usize>c << 2;
          const g = v128.load(d + off);
          // The share is rounded from float64 exactly as the reference rounds D / count.
          const lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(g), countx2));
          const hi = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(i32x4.shuffle(g, g, 2, 3, 0, 1)), countx2));
          const share = i64x2.shuffle(lo, hi, 0, 2);
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              const at = dx + pixel(n, h, w) + off;
              v128.store(at, f32x4.add(v128.load(at), share));
            }
          }
        }
        for (; c < inC; c++) {
          const off = <usize>c << 2;
          const share = <f32>(<f64>load<f32>(d + off) / count);
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              const at = dx + pixel(n, h, w) + off;
              store<f32>(at, load<f32>(at) + share);
            }
          }
        }
        d += <usize>inC << 2;
      }
    }
  }
}
