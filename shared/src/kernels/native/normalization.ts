import { ShapeError } from '../../errors.js';
import { formatShape } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { NormalizationKernels } from '../signatures/normalization.js';
import { requireSize } from '../wasm/checks.js';
import { normalizationWasmKernels } from '../wasm/normalization.js';
import { nativeAddon } from './addon.js';

/**
 * BatchNorm's training kernels in C (shared/native/batch_norm.c): the reference's float64
 * arithmetic in its order, vectorised four or eight channels wide by the compiler, so the results
 * equal the reference (and the WebAssembly kernels) bit for bit (Note [exact batch norm, native]
 * there). Training is where BatchNorm's time goes; inference keeps the WebAssembly kernel.
 */

function channels(kernel: string, x: Tensor, gamma: Tensor, perChannel: readonly Tensor[]): { m: number; c: number } {
  const c = gamma.size;
  if (c === 0 || x.size % c !== 0) throw new ShapeError(`native ${kernel}: x ${formatShape(x.shape)} is not a multiple of ${c} channels`);
  for (const t of perChannel) requireSize(kernel, 'a per-channel tensor', t, c);
  return { m: x.size / c, c };
}

function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, out: Tensor, mean: Tensor, variance: Tensor): void {
  const { m, c } = channels('batchNormTrain', x, gamma, [beta, mean, variance]);
  requireSize('batchNormTrain', 'out', out, x.size);
  if (m === 0) return normalizationWasmKernels.batchNormTrain(x, gamma, beta, eps, out, mean, variance);
  nativeAddon().batchNormTrain(x.data, gamma.data, beta.data, eps, out.data, mean.data, variance.data, m, c);
}

function batchNormBackward(
  dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, eps: number,
  dx: Tensor, dGamma: Tensor, dBeta: Tensor,
): void {
  const { m, c } = channels('batchNormBackward', x, gamma, [mean, variance, dGamma, dBeta]);
  requireSize('batchNormBackward', 'dy', dy, x.size);
  requireSize('batchNormBackward', 'dx', dx, x.size);
  if (m === 0) return normalizationWasmKernels.batchNormBackward(dy, x, gamma, mean, variance, eps, dx, dGamma, dBeta);
  nativeAddon().batchNormBackward(dy.data, x.data, gamma.data, mean.data, variance.data, eps, dx.data, dGamma.data, dBeta.data, m, c);
}

export const normalizationNativeKernels: Pick<NormalizationKernels, 'batchNormTrain' | 'batchNormBackward'> = { batchNormTrain, batchNormBackward };
