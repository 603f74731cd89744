import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamSegment } from './optimizer.js';
import { SegmentOptimizer } from './segment-optimizer.js';
import { allocSlots, forEachSegment, namedSlots } from './state.js';

export interface SgdOptions {
  readonly momentum: number;
  readonly nesterov: boolean;
  /** L2 term added to the gradient (g + wd·θ), PyTorch's `weight_decay`. */
  readonly weightDecay: number;
}

export const SGD_DEFAULTS: SgdOptions = { momentum: 0, nesterov: false, weightDecay: 0 };

/**
 * Stochastic gradient descent with PyTorch semantics (dampening 0):
 *   g ← g + wd·θ;  v ← μ·v + g;  d = nesterov ? g + μ·v : v;  θ ← θ − lr·d.
 * With v starting at zero the first step gives v = g, as PyTorch's clone-on-first-step does.
 * The arithmetic is the backend's fused `sgdUpdate` kernel; no velocity exists when μ = 0.
 */
export class Sgd extends SegmentOptimizer {
  readonly #options: SgdOptions;
  readonly #backend: Backend;
  readonly #velocity: Tensor[];

  constructor(backend: Backend, trainableSizes: readonly number[], options: Partial<SgdOptions> = {}) {
    super('sgd', trainableSizes);
    this.#backend = backend;
    this.#options = { ...SGD_DEFAULTS, ...options };
    this.#velocity = this.#options.momentum > 0 ? allocSlots(backend, this.trainableSizes) : [];
  }

  protected updateSegments(segments: readonly ParamSegment[], lr: number, _t: number, indices?: readonly number[]): void {
    const { momentum, nesterov, weightDecay } = this.#options;
    const update = { lr, momentum, nesterov, weightDecay };
    forEachSegment(segments, (value, grad, i) => {
      this.#backend.kernels.sgdUpdate(value, grad, this.#velocity[i] ?? null, update);
    }, indices);
  }

  stateTensors(): { name: string; tensor: Tensor }[] {
    return namedSlots(this.name, 'velocity', this.#velocity);
  }
}
