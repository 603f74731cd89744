import type { Tensor } from '../../tensor/tensor.js';
import type { AdamUpdate, OptimizerKernels, SgdUpdate } from '../signatures/optimizer.js';
import { requireSameSize } from './checks.js';
import { contextOf, ptr } from './context.js';

/**
 * Fused optimizer steps. The per-step scalars are computed here in float64 with the reference's
 * expressions, so the kernels (shared/assembly/optimizer.ts) reproduce the reference bit for bit.
 */
function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, u: AdamUpdate): void {
  requireSameSize('adamUpdate', param, grad, m, v);
  contextOf('adamUpdate', param, grad, m, v).exports.adam(
    ptr(param), ptr(grad), ptr(m), ptr(v), param.size,
    u.lr, u.beta1, 1 - u.beta1, u.beta2, 1 - u.beta2, u.epsilon,
    1 - Math.pow(u.beta1, u.step), 1 - Math.pow(u.beta2, u.step),
    u.decoupled ? 1 - u.lr * u.weightDecay : 1, u.decoupled ? 0 : u.weightDecay,
  );
}

function sgdUpdate(param: Tensor, grad: Tensor, velocity: Tensor | null, u: SgdUpdate): void {
  const useVelocity = velocity !== null && u.momentum !== 0;
  if (useVelocity) requireSameSize('sgdUpdate', param, grad, velocity);
  else requireSameSize('sgdUpdate', param, grad);
  const context = useVelocity ? contextOf('sgdUpdate', param, grad, velocity) : contextOf('sgdUpdate', param, grad);
  // Pointer 0 means "no velocity": arenas start above the module's static data, never at 0.
  context.exports.sgd(ptr(param), ptr(grad), useVelocity ? ptr(velocity) : 0, param.size, u.lr, u.momentum, u.nesterov ? 1 : 0, u.weightDecay);
}

export const optimizerWasmKernels: OptimizerKernels = { adamUpdate, sgdUpdate };
