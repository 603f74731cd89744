import { CheckpointError, ShapeError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamSegment } from './optimizer.js';

/**
 * One persistent state tensor per trainable segment (Adam's m, SGD's velocity, ...), flat and
 * zero-filled unless `initialValue` says otherwise. Allocated once, through the backend, so the
 * backend's kernels can address it.
 */
export function allocSlots(backend: Backend, sizes: readonly number[], initialValue = 0): Tensor[] {
  return sizes.map((n) => {
    const t = backend.allocPersistent([n]);
    if (initialValue !== 0) t.data.fill(initialValue);
    return t;
  });
}

/** Names a slot family for `stateTensors()`: `adam.m.0`, `adam.m.1`, ... */
export function namedSlots(optimizer: string, slot: string, tensors: readonly Tensor[]): { name: string; tensor: Tensor }[] {
  return tensors.map((tensor, i) => ({ name: `${optimizer}.${slot}.${i}`, tensor }));
}

/**
 * Visits the segments in order as flat 1-D views of their values and gradients. `i` is the
 * segment's index, which is also the index of its tensor in every slot family (`allocSlots` made
 * one per trainable size, and `SegmentOptimizer.step` checked the segments match those sizes).
 */
export function forEachSegment(segments: readonly ParamSegment[], visit: (value: Tensor, grad: Tensor, i: number) => void): void {
  segments.forEach((s, i) => {
    const n = s.value.size;
    visit(s.value.reshape([n]), s.grad.reshape([n]), i);
  });
}

/**
 * The trainer must pass the same segment layout on every step as at construction; a mismatch is
 * a wiring bug (e.g. running parameters passed as trainable), caught before any state is touched.
 */
export function checkSegments(optimizer: string, sizes: readonly number[], segments: readonly ParamSegment[]): void {
  if (segments.length !== sizes.length) {
    throw new ShapeError(`${optimizer}: step got ${segments.length} segments but the optimizer was built for ${sizes.length}`, {
      hint: 'pass exactly the trainable (gradient) parameter ranges, in layer order',
    });
  }
  segments.forEach((s, i) => {
    const n = sizes[i];
    if (s.value.size !== n || s.grad.size !== n) {
      throw new ShapeError(
        `${optimizer}: segment ${i} has ${s.value.size} values and ${s.grad.size} gradients but the optimizer was built for ${n}`,
        { hint: 'build the optimizer from the same trainable sizes the trainer steps with' },
      );
    }
  });
}

/** Validates a restored step count (it comes from a checkpoint file). */
export function checkStepCount(optimizer: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) {
    throw new CheckpointError('(optimizer state)', `${optimizer}: step count must be a non-negative integer, got ${n}`, {
      hint: 'the checkpoint metadata is damaged; resume from another checkpoint',
    });
  }
  return n;
}
