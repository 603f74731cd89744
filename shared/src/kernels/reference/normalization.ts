import type { Tensor } from '../../tensor/tensor.js';
import type { NormalizationKernels } from '../signatures/normalization.js';

/**
 * Batch normalisation over x viewed as [M, C], C = gamma.size. Statistics are float64 sums in
 * row order; the variance is the biased one (divide by M), two-pass so it never goes negative.
 */

function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, out: Tensor, mean: Tensor, variance: Tensor): void {
  const C = gamma.size;
  const X = x.data;
  const M = X.length / C;
  const sums = new Float64Array(C);
  for (let i = 0; i < X.length; i++) sums[i % C]! += X[i]!;
  const mu = sums.map((s) => s / M);
  const squares = new Float64Array(C);
  for (let i = 0; i < X.length; i++) {
    const d = X[i]! - mu[i % C]!;
    squares[i % C]! += d * d;
  }
  const sigma2 = squares.map((s) => s / M);
  normalize(X, gamma.data, beta.data, mu, sigma2, eps, out.data);
  mean.data.set(mu);
  variance.data.set(sigma2);
}

function batchNormInfer(x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: number, out: Tensor): void {
  normalize(x.data, gamma.data, beta.data, mean.data, variance.data, eps, out.data);
}

function normalize(
  X: Float32Array, G: Float32Array, B: Float32Array, mu: ArrayLike<number>, sigma2: ArrayLike<number>, eps: number, O: Float32Array,
): void {
  const C = G.length;
  const invStd = Float64Array.from({ length: C }, (_, c) => 1 / Math.sqrt(sigma2[c]! + eps));
  for (let i = 0; i < X.length; i++) {
    const c = i % C;
    O[i] = G[c]! * (X[i]! - mu[c]!) * invStd[c]! + B[c]!;
  }
}

/**
 * With x̂ = (x − μ)/σ: dβ = Σ dy, dγ = Σ dy·x̂, and, because μ and σ depend on every row,
 * dx = γ/(σ·M) · (M·dy − dβ − x̂·dγ).
 */
function batchNormBackward(
  dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, eps: number,
  dx: Tensor, dGamma: Tensor, dBeta: Tensor,
): void {
  const C = gamma.size;
  const X = x.data, D = dy.data, G = gamma.data, MU = mean.data;
  const M = X.length / C;
  const invStd = Float64Array.from({ length: C }, (_, c) => 1 / Math.sqrt(variance.data[c]! + eps));
  const sumDy = new Float64Array(C);
  const sumDyXhat = new Float64Array(C);
  for (let i = 0; i < X.length; i++) {
    const c = i % C;
    sumDy[c]! += D[i]!;
    sumDyXhat[c]! += D[i]! * (X[i]! - MU[c]!) * invStd[c]!;
  }
  const DX = dx.data;
  for (let i = 0; i < X.length; i++) {
    const c = i % C;
    const xhat = (X[i]! - MU[c]!) * invStd[c]!;
    DX[i] = ((G[c]! * invStd[c]!) / M) * (M * D[i]! - sumDy[c]! - xhat * sumDyXhat[c]!);
  }
  dGamma.data.set(sumDyXhat);
  dBeta.data.set(sumDy);
}

export const normalizationReferenceKernels: NormalizationKernels = { batchNormTrain, batchNormInfer, batchNormBackward };
