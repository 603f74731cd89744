import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamSegment } from './optimizer.js';
import { SegmentOptimizer } from './segment-optimizer.js';
import { allocSlots, forEachSegment, namedSlots } from './state.js';

export interface AdagradOptions {
  /** Starting value of every accumulator; Keras' 0.1 keeps the first steps from exploding. */
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;
}

export const ADAGRAD_DEFAULTS: AdagradOptions = { initialAccumulatorValue: 0.1, epsilon: 1e-7 };

/**
 * AdaGrad with Keras semantics (its defaults come from Keras, so its epsilon placement does too):
 *   a ← a + g²;  θ ← θ − lr·g / √(a + ε).
 * A plain loop: no fused kernel exists, and every backend's memory is a Float32Array view.
 * Each element is computed in float64 and rounded once when stored.
 */
export class Adagrad extends SegmentOptimizer {
  readonly #options: AdagradOptions;
  readonly #accumulators: Tensor[];

  constructor(backend: Backend, trainableSizes: readonly number[], options: Partial<AdagradOptions> = {}) {
    super('adagrad', trainableSizes);
    this.#options = { ...ADAGRAD_DEFAULTS, ...options };
    this.#accumulators = allocSlots(backend, this.trainableSizes, this.#options.initialAccumulatorValue);
  }

  protected updateSegments(segments: readonly ParamSegment[], lr: number, _t: number, indices?: readonly number[]): void {
    const eps = this.#options.epsilon;
    forEachSegment(segments, (value, gradient, i) => {
      const theta = value.data;
      const grad = gradient.data;
      const acc = (this.#accumulators[i] as Tensor).data;
      for (let j = 0; j < theta.length; j++) {
        const g = grad[j] as number;
        const a = (acc[j] as number) + g * g;
        acc[j] = a;
        theta[j] = (theta[j] as number) - (lr * g) / Math.sqrt(a + eps);
      }
    }, indices);
  }

  stateTensors(): { name: string; tensor: Tensor }[] {
    return namedSlots(this.name, 'accumulator', this.#accumulators);
  }
}
