import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamSegment } from './optimizer.js';
import { SegmentOptimizer } from './segment-optimizer.js';
import { allocSlots, forEachSegment, namedSlots } from './state.js';

export interface RmspropOptions {
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  /** Divide by the estimated variance (E[g²] − E[g]²) instead of the raw second moment. */
  readonly centered: boolean;
}

export const RMSPROP_DEFAULTS: RmspropOptions = { rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false };

/**
 * RMSprop with Keras semantics (its defaults are Keras'):
 *   s ← ρ·s + (1−ρ)·g²;  (centered) ḡ ← ρ·ḡ + (1−ρ)·g, denominator s − ḡ²;
 *   Δ = lr·g / √(denominator + ε);  with momentum: b ← μ·b + Δ, θ ← θ − b;  else θ ← θ − Δ.
 * Note the lr sits inside the momentum buffer (Keras), unlike PyTorch which applies lr after it;
 * the two differ only when the lr changes between steps.
 * State exists only for the enabled features: `s` always, `ḡ` when centered, `b` when μ > 0.
 */
export class Rmsprop extends SegmentOptimizer {
  readonly #options: RmspropOptions;
  readonly #meanSquare: Tensor[];
  readonly #meanGrad: Tensor[];
  readonly #momentum: Tensor[];

  constructor(backend: Backend, trainableSizes: readonly number[], options: Partial<RmspropOptions> = {}) {
    super('rmsprop', trainableSizes);
    this.#options = { ...RMSPROP_DEFAULTS, ...options };
    this.#meanSquare = allocSlots(backend, this.trainableSizes);
    this.#meanGrad = this.#options.centered ? allocSlots(backend, this.trainableSizes) : [];
    this.#momentum = this.#options.momentum > 0 ? allocSlots(backend, this.trainableSizes) : [];
  }

  protected updateSegments(segments: readonly ParamSegment[], lr: number, _t: number, indices?: readonly number[]): void {
    const { rho, momentum, epsilon } = this.#options;
    forEachSegment(segments, (value, gradient, i) => {
      const theta = value.data;
      const grad = gradient.data;
      const s = (this.#meanSquare[i] as Tensor).data;
      const gBar = this.#meanGrad[i]?.data;
      const buf = this.#momentum[i]?.data;
      for (let j = 0; j < theta.length; j++) {
        const g = grad[j] as number;
        const sj = rho * (s[j] as number) + (1 - rho) * g * g;
        s[j] = sj;
        let denominator = sj;
        if (gBar) {
          const mj = rho * (gBar[j] as number) + (1 - rho) * g;
          gBar[j] = mj;
          // s ≥ ḡ² holds exactly (Jensen); the clamp only absorbs float32 rounding of the stored state.
          denominator = Math.max(0, denominator - mj * mj);
        }
        const delta = (lr * g) / Math.sqrt(denominator + epsilon);
        if (buf) {
          const bj = momentum * (buf[j] as number) + delta;
          buf[j] = bj;
          theta[j] = (theta[j] as number) - bj;
        } else {
          theta[j] = (theta[j] as number) - delta;
        }
      }
    }, indices);
  }

  stateTensors(): { name: string; tensor: Tensor }[] {
    return [
      ...namedSlots(this.name, 'meanSquare', this.#meanSquare),
      ...namedSlots(this.name, 'meanGrad', this.#meanGrad),
      ...namedSlots(this.name, 'momentum', this.#momentum),
    ];
  }
}
