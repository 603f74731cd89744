/**
 * Batch normalisation over x viewed as [m, c] (shared/src/kernels/reference/normalization.ts is
 * the oracle). Note [exact batch norm]: the reference computes in float64 with per-channel sums in
 * row order; here each f64x2 lane is one channel, so every channel's sum takes the same float64
 * operations in the same order, and every output the same float64 expression rounded once: the
 * results equal the reference bit for bit. Channel pairs run on f64x2, an odd last channel alone.
 * ws holds 2·c float64 (per-channel sums, then the derived statistics).
 */
import { load2, store2 } from './widen';

/** acc[ch] += x[r, ch] over rows r ascending (f64), for every channel. */
function columnSums(x: usize, m: i32, c: i32, acc: usize): void {
  memory.fill(acc, 0, <usize>c << 3);
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < m; r++) {
    const row = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const a = acc + (<usize>ch << 3);
      v128.store(a, f64x2.add(v128.load(a), load2(row + (<usize>ch << 2))));
    }
    if (ch < c) {
      const a = acc + (<usize>ch << 3);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(row + (<usize>ch << 2)));
    }
  }
}

/** acc[ch] += (x[r, ch] − mu[ch])² over rows r ascending. */
function columnSquares(x: usize, m: i32, c: i32, mu: usize, acc: usize): void {
  memory.fill(acc, 0, <usize>c << 3);
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < m; r++) {
    const row = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const off = <usize>ch << 3;
      const d = f64x2.sub(load2(row + (<usize>ch << 2)), v128.load(mu + off));
      v128.store(acc + off, f64x2.add(v128.load(acc + off), f64x2.mul(d, d)));
    }
    if (ch < c) {
      const off = <usize>ch << 3;
      const d = <f64>load<f32>(row + (<usize>ch << 2)) - load<f64>(mu + off);
      store<f64>(acc + off, load<f64>(acc + off) + d * d);
    }
  }
}

/** out = γ·(x − mu)·invStd + β, f64, rounded once; mu and invStd are f64 per channel. */
function normalize(x: usize, gamma: usize, beta: usize, mu: usize, invStd: usize, out: usize, m: i32, c: i32): void {
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < m; r++) {
    const row = x + <usize>r * rowBytes;
    const dst = out + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      const centred = f64x2.sub(load2(row + f), v128.load(mu + d));
      store2(dst + f, f64x2.add(f64x2.mul(f64x2.mul(load2(gamma + f), centred), v128.load(invStd + d)), load2(beta + f)));
    }
    if (ch < c) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      const v = <f64>load<f32>(gamma + f) * (<f64>load<f32>(row + f) - load<f64>(mu + d)) * load<f64>(invStd + d) + <f64>load<f32>(beta + f);
      store<f32>(dst + f, <f32>v);
    }
  }
}

/** Training mode: mean and biased variance of x (two-pass), then normalize. ws: 2·c f64. */
export function batchNormTrain(x: usize, gamma: usize, beta: usize, eps: f64, out: usize, mean: usize, variance: usize, m: i32, c: i32, ws: usize): void {
  const mu = ws;
  const stat = ws + (<usize>c << 3);
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
  normalize(x, gamma, beta, mu, stat, out, m, c);
}

/** Inference mode with stored float32 statistics. ws: 2·c f64. */
export function batchNormInfer(x: usize, gamma: usize, beta: usize, mean: usize, variance: usize, eps: f64, out: usize, m: i32, c: i32, ws: usize): void {
  const mu = ws;
  const invStd = ws + (<usize>c << 3);
  for (let ch = 0; ch < c; ch++) {
    store<f64>(mu + (<usize>ch << 3), <f64>load<f32>(mean + (<usize>ch << 2)));
    store<f64>(invStd + (<usize>ch << 3), 1 / Math.sqrt(<f64>load<f32>(variance + (<usize>ch << 2)) + eps));
  }
  normalize(x, gamma, beta, mu, invStd, out, m, c);
}

/**
 * Gradients, as the reference: dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·invStd/M · (M·dy − dβ − x̂·dγ).
 * ws: 4·c f64 (mu, invStd, Σdy, Σdy·x̂).
 */
export function batchNormBackward(
  dy: usize, x: usize, gamma: usize, mean: usize, variance: usize, eps: f64, dx: usize, dGamma: usize, dBeta: usize, m: i32, c: i32, ws: usize,
): void {
  const cb = <usize>c << 3;
  const mu = ws;
  const invStd = ws + cb;
  const sumDy = ws + 2 * cb;
  const sumDyXhat = ws + 3 * cb;
  memory.fill(sumDy, 0, 2 * cb);
  for (let ch = 0; ch < c; ch++) {
    store<f64>(mu + (<usize>ch << 3), <f64>load<f32>(mean + (<usize>ch << 2)));
    store<f64>(invStd + (<usize>ch << 3), 1 / Math.sqrt(<f64>load<f32>(variance + (<usize>ch << 2)) + eps));
  }
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < m; r++) {
    const xr = x + <usize>r * rowBytes;
    const dr = dy + <usize>r * rowBytes;
    for (let ch = 0; ch < c; ch++) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      const g = <f64>load<f32>(dr + f);
      store<f64>(sumDy + d, load<f64>(sumDy + d) + g);
      store<f64>(sumDyXhat + d, load<f64>(sumDyXhat + d) + g * (<f64>load<f32>(xr + f) - load<f64>(mu + d)) * load<f64>(invStd + d));
    }
  }
  const rows = <f64>m;
  for (let r = 0; r < m; r++) {
    const xr = x + <usize>r * rowBytes;
    const dr = dy + <usize>r * rowBytes;
    const out = dx + <usize>r * rowBytes;
    for (let ch = 0; ch < c; ch++) {
      const f = <usize>ch << 2;
      const d = <usize>ch << 3;
      const s = load<f64>(invStd + d);
      const xhat = (<f64>load<f32>(xr + f) - load<f64>(mu + d)) * s;
      const v = ((<f64>load<f32>(gamma + f) * s) / rows) * (rows * <f64>load<f32>(dr + f) - load<f64>(sumDy + d) - xhat * load<f64>(sumDyXhat + d));
      store<f32>(out + f, <f32>v);
    }
  }
  for (let ch = 0; ch < c; ch++) {
    store<f32>(dGamma + (<usize>ch << 2), <f32>load<f64>(sumDyXhat + (<usize>ch << 3)));
    store<f32>(dBeta + (<usize>ch << 2), <f32>load<f64>(sumDy + (<usize>ch << 3)));
  }
}
