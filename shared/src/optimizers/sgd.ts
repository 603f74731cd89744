import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer, ParamSegment } from './optimizer.js';
import { allocSlots, checkSegments, checkStepCount, namedSlots } from './state.js';

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
export class Sgd implements Optimizer {
  readonly name = 'sgd';
  readonly #sizes: readonly number[];
  readonly #options: SgdOptions;
  readonly #backend: Backend;
  readonly #velocity: Tensor[];
  #steps = 0;

  constructor(backend: Backend, trainableSizes: readonly number[], options: Partial<SgdOptions> = {}) {
    this.#backend = backend;
    this.#sizes = [...trainableSizes];
    this.#options = { ...SGD_DEFAULTS, ...options };
    this.#velocity = this.#options.momentum > 0 ? allocSlots(backend, this.#sizes) : [];
  }

  get stepCount(): number {
    return this.#steps;
  }

  setStepCount(n: number): void {
    this.#steps = checkStepCount(this.name, n);
  }

  step(segments: readonly ParamSegment[], lr: number): void {
    checkSegments(this.name, this.#sizes, segments);
    this.#steps++;
    const { momentum, nesterov, weightDecay } = this.#options;
    const update = { lr, momentum, nesterov, weightDecay };
    segments.forEach((s, i) => {
      const n = s.value.size;
      this.#backend.kernels.sgdUpdate(s.value.reshape([n]), s.grad.reshape([n]), this.#velocity[i] ?? null, update);
    });
  }

  stateTensors(): { name: string; tensor: Tensor }[] {
    return namedSlots(this.name, 'velocity', this.#velocity);
  }
}
