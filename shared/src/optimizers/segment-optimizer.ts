import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer, ParamSegment, SegmentGroups } from './optimizer.js';
import { checkGroups, checkSegments, checkStepCount } from './state.js';

/**
 * Everything an optimizer does besides its update rule, so that the invariants of `Optimizer`
 * hold in one place: `step` checks the segments against the layout the optimizer was built for
 * before any state is touched, then counts the step BEFORE the update, so the first update sees
 * t = 1. A subclass allocates its state slots in its constructor and writes its rule in
 * `updateSegments`.
 *
 * A step in groups (Note [update in parts] in train/update.ts) is the same step: counted once, then
 * `updateSegments` once per group with that group's indices and the same t.
 */
export abstract class SegmentOptimizer implements Optimizer {
  /** The spec's `type`, also the prefix of the state tensors' names. */
  readonly name: string;
  /** The element count of each trainable segment, in order; one state tensor per size and slot family. */
  protected readonly trainableSizes: readonly number[];
  #steps = 0;
  /** checkGroups' scratch, one byte per segment, so a step in groups allocates nothing. */
  readonly #seen: Uint8Array;

  constructor(name: string, trainableSizes: readonly number[]) {
    this.name = name;
    this.trainableSizes = [...trainableSizes];
    this.#seen = new Uint8Array(this.trainableSizes.length);
  }

  get stepCount(): number {
    return this.#steps;
  }

  setStepCount(n: number): void {
    this.#steps = checkStepCount(this.name, n);
  }

  step(segments: readonly ParamSegment[], lr: number, groups?: SegmentGroups): void {
    checkSegments(this.name, this.trainableSizes, segments);
    if (groups === undefined) {
      this.#steps++;
      this.updateSegments(segments, lr, this.#steps);
      return;
    }
    checkGroups(this.name, this.trainableSizes.length, groups, this.#seen);
    const t = ++this.#steps;
    groups.groups.forEach((indices, g) => {
      this.updateSegments(segments, lr, t, indices);
      groups.afterGroup(g);
    });
  }

  beginStep(segments: readonly ParamSegment[], lr: number): (indices: readonly number[]) => void {
    checkSegments(this.name, this.trainableSizes, segments);
    const t = ++this.#steps;
    return (indices) => this.updateSegments(segments, lr, t, indices);
  }

  /**
   * The update rule: changes the segments at `indices` (all of them when undefined) and their state in
   * place. `t` is this step's 1-based number. Each segment's update must depend only on its own value,
   * gradient and state, and on lr and t: that is what makes a step in groups equal the whole step.
   */
  protected abstract updateSegments(segments: readonly ParamSegment[], lr: number, t: number, indices?: readonly number[]): void;

  abstract stateTensors(): { name: string; tensor: Tensor }[];
}
