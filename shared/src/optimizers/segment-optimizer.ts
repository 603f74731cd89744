import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer, ParamSegment } from './optimizer.js';
import { checkSegments, checkStepCount } from './state.js';

/**
 * Everything an optimizer does besides its update rule, so that the invariants of `Optimizer`
 * hold in one place: `step` checks the segments against the layout the optimizer was built for
 * before any state is touched, then counts the step BEFORE the update, so the first update sees
 * t = 1. A subclass allocates its state slots in its constructor and writes its rule in
 * `updateSegments`.
 */
export abstract class SegmentOptimizer implements Optimizer {
  /** The spec's `type`, also the prefix of the state tensors' names. */
  readonly name: string;
  /** The element count of each trainable segment, in order; one state tensor per size and slot family. */
  protected readonly trainableSizes: readonly number[];
  #steps = 0;

  constructor(name: string, trainableSizes: readonly number[]) {
    this.name = name;
    this.trainableSizes = [...trainableSizes];
  }

  get stepCount(): number {
    return this.#steps;
  }

  setStepCount(n: number): void {
    this.#steps = checkStepCount(this.name, n);
  }

  step(segments: readonly ParamSegment[], lr: number): void {
    checkSegments(this.name, this.trainableSizes, segments);
    this.#steps++;
    this.updateSegments(segments, lr, this.#steps);
  }

  /** The update rule: changes every segment (and its state) in place. `t` is this step's 1-based number. */
  protected abstract updateSegments(segments: readonly ParamSegment[], lr: number, t: number): void;

  abstract stateTensors(): { name: string; tensor: Tensor }[];
}
