/**
 * Batch normalisation over x viewed as [m, c] (shared/src/kernels/reference/normalization.ts is
 * the oracle). Note [exact batch norm]: the reference computes in float64 with per-channel sums in
 * row order; here each f64x2 lane is one channel, so every channel's sum takes the same float64
 * operations in the same order, and every output the same float64 expression rounded once: the
 * results equal the reference bit for bit. Channel pairs run on f64x2, an odd last channel alone.
 * Per-channel values that the reference derives the same way for every element (γ and β widened,
 * μ, 1/σ, the backward factor (γ·invStd)/M) are computed once per channel into ws.
 *
 * The sums take rows in groups (Note [row groups] in column-sums.ts); so do the per-element
 * passes, which load each channel pair's statistics once per group (backward ≈ 1.9 ms for a
 * [21632, 32] map before f64x2 and the groups, ≈ 0.6 ms after, 2026-11-30).
 */
import { columnSums, GROUP } from './column-sums';
import { load2, store2 } from './widen';

// @ts-ignore: decorator
@inline
function squared(p: usize, mu: v128): v128 {
  const d = f64x2.sub(load2(p), mu);
  return f64x2.mul(d, d);
}

/** acc[ch] = Σ (x[r, ch] − mu[ch])² over rows r ascending. */
function columnSquares(x: usize, m: i32, c: i32, mu: usize, acc: usize): void {
  memory.fill(acc, 0, <usize>c << 3);
  const rowBytes = <usize>c << 2;
  let r = 0;
  for (; r + GROUP <= m; r += GROUP) {
    const row = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const off = <usize>ch << 3;
      const p = row + (<usize>ch << 2);
      const centre = v128.load(mu + off);
      let s = v128.load(acc + off);
      s = f64x2.add(s, squared(p, centre));
      s = f64x2.add(s, squared(p + rowBytes, centre));
      s = f64x2.add(s, squared(p + 2 * rowBytes, centre));
      s = f64x2.add(s, squared(p + 3 * rowBytes, centre));
      v128.store(acc + off, s);
    }
    if (ch < c) {
      const off = <usize>ch << 3;
      const p = row + (<usize>ch << 2);
      let s = load<f64>(acc + off);
      for (let g = 0; g < GROUP; g++) {
        const d = <f64>load<f32>(p + <usize>g * rowBytes) - load<f64>(mu + off);
        s += d * d;
      }
      store<f64>(acc + off, s);
    }
  }
  for (; r < m; r++) {
    const row = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const off = <usize>ch << 3;
      v128.store(acc + off, f64x2.add(v128.load(acc + off), squared(row + (<usize>ch << 2), v128.load(mu + off))));
    }
    if (ch < c) {
      const off = <usize>ch << 3;
      const d = <f64>load<f32>(row + (<usize>ch << 2)) - load<f64>(mu + off);
      store<f64>(acc + off, load<f64>(acc + off) + d * d);
    }
  }
}

/** dst[ch] = src[ch] widened to f64, for c floats. */
function widen(src: usize, c: i32, dst: usize): void {
  for (let ch = 0; ch < c; ch++) store<f64>(dst + (<usize>ch << 3), <f64>load<f32>(src + (<usize>ch << 2)));
}

/**
 * out = γ·(x − mu)·invStd + β in f64 (that order, as the reference), rounded once. gamma, beta,
 * mu and invStd are f64 per channel (ws).
 */
function normalize(x: usize, gamma: usize, beta: usize, mu: usize, invStd: usize, out: usize, m: i32, c: i32): void {
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < m; r += GROUP) {
    const group = min(GROUP, m - r);
    const row = x + <usize>r * rowBytes;
    const dst = out + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      const g2 = v128.load(gamma + d);
      const m2 = v128.load(mu + d);
      const s2 = v128.load(invStd + d);
      const b2 = v128.load(beta + d);
      for (let g = 0; g < group; g++) {
        const off = <usize>g * rowBytes + f;
        store2(dst + off, f64x2.add(f64x2.mul(f64x2.mul(g2, f64x2.sub(load2(row + off), m2)), s2), b2));
      }
    }
    if (ch < c) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      for (let g = 0; g < group; g++) {
        const off = <usize>g * rowBytes + f;
        const v = load<f64>(gamma + d) * (<f64>load<f32>(row + off) - load<f64>(mu + d)) * load<f64>(invStd + d) + load<f64>(beta + d);
        store<f32>(dst + off, <f32>v);
      }
    }
  }
}

/** Training mode: mean and biased variance of x (two-pass), then normalize. ws: 4·c f64. */
export function batchNormTrain(x: usize, gamma: usize, beta: usize, eps: f64, out: usize, mean: usize, variance: usize, m: i32, c: i32, ws: usize): void {
  const cb = <usize>c << 3;
  const mu = ws;
  const stat = ws + cb;
  const gammaWide = ws + 2 * cb;
  const betaWide = ws + 3 * cb;
  const rows = <f64>m;
  columnSums(x, m, c, mu);
  for (let ch = 0; ch < c; ch++) store<f64>(mu + (<usize>ch << 3), load<f64>(mu + (<usize>ch << 3)) / rows);
  columnSquares(x, m, c, mu, stat);
  for (let ch = 0; ch < c; ch++) {
    const d = <usize>ch << 3;
    const sigma2 = load<f64>(stat + d) / rows;
    store<f32>(mean + (<usize>ch << 2), <f32>load<f64>(mu + d));
    store<f32>(variance + (<usize>ch << 2), <f32>sigma2);
    store<f64>(stat + d, 1 / Math.sqrt(sigma2 + eps));
  }
  widen(gamma, c, gammaWide);
  widen(beta, c, betaWide);
  normalize(x, gammaWide, betaWide, mu, stat, out, m, c);
}

/** Inference mode with stored float32 statistics. ws: 4·c f64. */
export function batchNormInfer(x: usize, gamma: usize, beta: usize, mean: usize, variance: usize, eps: f64, out: usize, m: i32, c: i32, ws: usize): void {
  const cb = <usize>c << 3;
  const mu = ws;
  const invStd = ws + cb;
  const gammaWide = ws + 2 * cb;
  const betaWide = ws + 3 * cb;
  for (let ch = 0; ch < c; ch++) {
    store<f64>(mu + (<usize>ch << 3), <f64>load<f32>(mean + (<usize>ch << 2)));
    store<f64>(invStd + (<usize>ch << 3), 1 / Math.sqrt(<f64>load<f32>(variance + (<usize>ch << 2)) + eps));
  }
  widen(gamma, c, gammaWide);
  widen(beta, c, betaWide);
  normalize(x, gammaWide, betaWide, mu, invStd, out, m, c);
}

/**
 * Σdy and Σdy·x̂ of one channel pair over `rows` rows from p (dy) and q (x), added in row order to
 * the sums at sumDy and sumDyXhat.
 */
// @ts-ignore: decorator
@inline
function accumulatePair(p: usize, q: usize, rowBytes: usize, rows: i32, mu: v128, invStd: v128, sumDy: usize, sumDyXhat: usize): void {
  let s = v128.load(sumDy);
  let t = v128.load(sumDyXhat);
  for (let g = 0; g < rows; g++) {
    const off = <usize>g * rowBytes;
    const dy = load2(p + off);
    s = f64x2.add(s, dy);
    t = f64x2.add(t, f64x2.mul(f64x2.mul(dy, f64x2.sub(load2(q + off), mu)), invStd));
  }
  v128.store(sumDy, s);
  v128.store(sumDyXhat, t);
}

/**
 * Gradients, as the reference: dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·invStd/M · (M·dy − dβ − x̂·dγ).
 * ws: 5·c f64 (mu, invStd, Σdy, Σdy·x̂, the factor (γ·invStd)/M).
 */
export function batchNormBackward(
  dy: usize, x: usize, gamma: usize, mean: usize, variance: usize, eps: f64, dx: usize, dGamma: usize, dBeta: usize, m: i32, c: i32, ws: usize,
): void {
  const cb = <usize>c << 3;
  const mu = ws;
  const invStd = ws + cb;
  const sumDy = ws + 2 * cb;
  const sumDyXhat = ws + 3 * cb;
  const factor = ws + 4 * cb;
  const rows = <f64>m;
  memory.fill(sumDy, 0, 2 * cb);
  for (let ch = 0; ch < c; ch++) {
    const s = 1 / Math.sqrt(<f64>load<f32>(variance + (<usize>ch << 2)) + eps);
    store<f64>(mu + (<usize>ch << 3), <f64>load<f32>(mean + (<usize>ch << 2)));
    store<f64>(invStd + (<usize>ch << 3), s);
    store<f64>(factor + (<usize>ch << 3), (<f64>load<f32>(gamma + (<usize>ch << 2)) * s) / rows);
  }
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < m; r += GROUP) {
    const group = min(GROUP, m - r);
    const dr = dy + <usize>r * rowBytes;
    const xr = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      accumulatePair(dr + f, xr + f, rowBytes, group, v128.load(mu + d), v128.load(invStd + d), sumDy + d, sumDyXhat + d);
    }
    if (ch < c) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      for (let g = 0; g < group; g++) {
        const off = <usize>g * rowBytes;
        const dyv = <f64>load<f32>(dr + f + off);
        store<f64>(sumDy + d, load<f64>(sumDy + d) + dyv);
        store<f64>(sumDyXhat + d, load<f64>(sumDyXhat + d) + dyv * (<f64>load<f32>(xr + f + off) - load<f64>(mu + d)) * load<f64>(invStd + d));
      }
    }
  }
  const rowsV = f64x2.splat(rows);
  for (let r = 0; r < m; r += GROUP) {
    const group = min(GROUP, m - r);
    const xr = x + <usize>r * rowBytes;
    const dr = dy + <usize>r * rowBytes;
    const out = dx + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      const m2 = v128.load(mu + d);
      const s2 = v128.load(invStd + d);
      const sumDy2 = v128.load(sumDy + d);
      const sumDyXhat2 = v128.load(sumDyXhat + d);
      const factor2 = v128.load(factor + d);
      for (let g = 0; g < group; g++) {
        const off = <usize>g * rowBytes + f;
        const xhat = f64x2.mul(f64x2.sub(load2(xr + off), m2), s2);
        const inner = f64x2.sub(f64x2.sub(f64x2.mul(rowsV, load2(dr + off)), sumDy2), f64x2.mul(xhat, sumDyXhat2));
        store2(out + off, f64x2.mul(factor2, inner));
      }
    }
    if (ch < c) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      for (let g = 0; g < group; g++) {
        const off = <usize>g * rowBytes + f;
        const xhat = (<f64>load<f32>(xr + off) - load<f64>(mu + d)) * load<f64>(invStd + d);
        const v = load<f64>(factor + d) * (rows * <f64>load<f32>(dr + off) - load<f64>(sumDy + d) - xhat * load<f64>(sumDyXhat + d));
        store<f32>(out + off, <f32>v);
      }
    }
  }
  for (let ch = 0; ch < c; ch++) {
    store<f32>(dGamma + (<usize>ch << 2), <f32>load<f64>(sumDyXhat + (<usize>ch << 3)));
    store<f32>(dBeta + (<usize>ch << 2), <f32>load<f64>(sumDy + (<usize>ch << 3)));
  }
}
