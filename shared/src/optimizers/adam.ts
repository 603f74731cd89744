import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamSegment } from './optimizer.js';
import { SegmentOptimizer } from './segment-optimizer.js';
import { allocSlots, forEachSegment, namedSlots } from './state.js';

export interface AdamOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Adam: L2 added to the gradient (g + wd·θ). AdamW: decoupled decay θ ← θ − lr·wd·θ. */
  readonly weightDecay: number;
}

/** PyTorch's defaults (epsilon 1e-8, not Keras' 1e-7), matching the AdamW semantics we follow. */
export const ADAM_DEFAULTS: AdamOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
/** PyTorch's AdamW default decay. */
export const ADAMW_DEFAULTS: AdamOptions = { ...ADAM_DEFAULTS, weightDecay: 0.01 };

/**
 * Adam (Kingma & Ba) with bias correction, PyTorch semantics:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  θ ← θ − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).
 * `decoupled` selects where the weight decay goes: into g (Adam's L2) or, for AdamW, as
 * θ ← θ − lr·wd·θ before the Adam step. The arithmetic is the backend's fused `adamUpdate`.
 */
export class Adam extends SegmentOptimizer {
  readonly #options: AdamOptions;
  readonly #decoupled: boolean;
  readonly #backend: Backend;
  readonly #m: Tensor[];
  readonly #v: Tensor[];

  constructor(backend: Backend, trainableSizes: readonly number[], options: Partial<AdamOptions> = {}, decoupled = false) {
    super(decoupled ? 'adamw' : 'adam', trainableSizes);
    this.#backend = backend;
    this.#decoupled = decoupled;
    this.#options = { ...(decoupled ? ADAMW_DEFAULTS : ADAM_DEFAULTS), ...options };
    this.#m = allocSlots(backend, this.trainableSizes);
    this.#v = allocSlots(backend, this.trainableSizes);
  }

  protected updateSegments(segments: readonly ParamSegment[], lr: number, t: number, indices?: readonly number[]): void {
    const update = { lr, ...this.#options, step: t, decoupled: this.#decoupled };
    forEachSegment(segments, (value, grad, i) => {
      // Indices are in range: step() matched the segments to the slots allocated per size.
      this.#backend.kernels.adamUpdate(value, grad, this.#m[i] as Tensor, this.#v[i] as Tensor, update);
    }, indices);
  }

  stateTensors(): { name: string; tensor: Tensor }[] {
    // Per family, then per segment: the order a checkpoint lists them in never changes.
    return [...namedSlots(this.name, 'm', this.#m), ...namedSlots(this.name, 'v', this.#v)];
  }
}
