import { ShapeError } from '../../errors.js';
import { formatShape } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { NormalizationKernels } from '../signatures/normalization.js';
import { requireSize } from './checks.js';
import { contextOf, ptr, withWorkspace } from './context.js';

/**
 * Batch normalisation on WebAssembly (shared/assembly/normalization.ts): the reference's float64
 * arithmetic in the same order per channel, so the results equal it bit for bit (Note [exact batch
 * norm] there), at WebAssembly speed instead of per-element JavaScript with an i % C per element.
 */

/** Rows M and channels C of x viewed as [M, C], C = gamma.size, after checking the per-channel tensors. */
function rowsOf(kernel: string, x: Tensor, gamma: Tensor, ...perChannel: Tensor[]): { m: number; c: number } {
  const c = gamma.size;
  if (c === 0 || x.size % c !== 0) throw new ShapeError(`wasm ${kernel}: x ${formatShape(x.shape)} is not a multiple of ${c} channels`);
  for (const t of perChannel) requireSize(kernel, 'a per-channel tensor', t, c);
  return { m: x.size / c, c };
}

function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, out: Tensor, mean: Tensor, variance: Tensor): void {
  const { m, c } = rowsOf('batchNormTrain', x, gamma, beta, mean, variance);
  requireSize('batchNormTrain', 'out', out, x.size);
  const context = contextOf('batchNormTrain', out, x, gamma, beta, mean, variance);
  withWorkspace(context, c * 32, (ws) => context.exports.batchNormTrain(ptr(x), ptr(gamma), ptr(beta), eps, ptr(out), ptr(mean), ptr(variance), m, c, ws));
}

function batchNormInfer(x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: number, out: Tensor): void {
  const { m, c } = rowsOf('batchNormInfer', x, gamma, beta, mean, variance);
  requireSize('batchNormInfer', 'out', out, x.size);
  const context = contextOf('batchNormInfer', out, x, gamma, beta, mean, variance);
  withWorkspace(context, c * 32, (ws) => context.exports.batchNormInfer(ptr(x), ptr(gamma), ptr(beta), ptr(mean), ptr(variance), eps, ptr(out), m, c, ws));
}

function batchNormBackward(
  dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, eps: number,
  dx: Tensor, dGamma: Tensor, dBeta: Tensor,
): void {
  const { m, c } = rowsOf('batchNormBackward', x, gamma, mean, variance, dGamma, dBeta);
  requireSize('batchNormBackward', 'dy', dy, x.size);
  requireSize('batchNormBackward', 'dx', dx, x.size);
  const context = contextOf('batchNormBackward', dx, dy, x, gamma, mean, variance, dGamma, dBeta);
  withWorkspace(context, c * 40, (ws) =>
    context.exports.batchNormBackward(ptr(dy), ptr(x), ptr(gamma), ptr(mean), ptr(variance), eps, ptr(dx), ptr(dGamma), ptr(dBeta), m, c, ws),
  );
}

export const normalizationWasmKernels: NormalizationKernels = { batchNormTrain, batchNormInfer, batchNormBackward };
