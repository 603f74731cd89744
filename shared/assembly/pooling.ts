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
 */
export function maxPoolBackward(dy: usize, x: usize, dx: usize): void {
  memory.fill(dx, 0, pixel(batch, 0, 0));
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
          const at = dx + where + off;
          store<f32>(at, load<f32>(at) + load<f32>(d + off));
        }
        d += <usize>inC << 2;
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
