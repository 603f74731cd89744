import type { Tensor } from '../../tensor/tensor.js';
import type { AdamUpdate, OptimizerKernels } from '../signatures/optimizer.js';
import { requireSameSize } from '../wasm/checks.js';
import { nativeAddon } from './addon.js';

/**
 * Adam's update in the addon's C (shared/native/adam.c), eight float64 lanes wide where the CPU has
 * AVX-512: the reference's expressions in its order, so parameters and state equal the reference's
 * (and the WebAssembly kernel's) bit for bit. The per-step scalars are computed here exactly as
 * wasm/optimizer.ts computes them. It runs on the main thread between steps (applyUpdate), a part
 * of every step that the pool threads do not share.
 */
function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, u: AdamUpdate): void {
  requireSameSize('adamUpdate', param, grad, m, v);
  nativeAddon().adam(
    param.data, grad.data, m.data, v.data,
    u.lr, u.beta1, 1 - u.beta1, u.beta2, 1 - u.beta2, u.epsilon,
    1 - Math.pow(u.beta1, u.step), 1 - Math.pow(u.beta2, u.step),
    u.decoupled ? 1 - u.lr * u.weightDecay : 1, u.decoupled ? 0 : u.weightDecay,
  );
}

export const optimizerNativeKernels: Pick<OptimizerKernels, 'adamUpdate'> = { adamUpdate };
