import type { Backend } from '../kernels/backend.js';
import { Adam, type AdamOptions } from './adam.js';

/**
 * AdamW (Loshchilov & Hutter) with PyTorch semantics: θ ← θ − lr·wd·θ, then the Adam step on the
 * un-decayed gradient. Decay scales with the scheduled lr, as in PyTorch. Default wd 0.01.
 */
export class AdamW extends Adam {
  constructor(backend: Backend, trainableSizes: readonly number[], options: Partial<AdamOptions> = {}) {
    super(backend, trainableSizes, options, true);
  }
}
