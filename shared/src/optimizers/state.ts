import { CheckpointError, ShapeError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamSegment, SegmentGroups } from './optimizer.js';

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
 * Visits the segments in order (or only those at `indices`, in that order) as flat 1-D views of their
 * values and gradients. `i` is the segment's index, which is also the index of its tensor in every slot
 * family (`allocSlots` made one per trainable size, and `SegmentOptimizer.step` checked the segments
 * match those sizes, and that `indices` are among them).
 */
export function forEachSegment(
  segments: readonly ParamSegment[],
  visit: (value: Tensor, grad: Tensor, i: number) => void,
  indices?: readonly number[],
): void {
  const one = (i: number): void => {
    const s = segments[i] as ParamSegment;
    const n = s.value.size;
    visit(s.value.reshape([n]), s.grad.reshape([n]), i);
  };
  if (indices === undefined) for (let i = 0; i < segments.length; i++) one(i);
  else for (const i of indices) one(i);
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

/**
 * A step in groups must update every segment exactly once; anything else is a wiring bug of the caller
 * (train/update.ts derives the groups from parameter ranges), caught before any state is touched.
 * `seen` is scratch of one byte per segment, owned by the optimizer so a step allocates nothing.
 */
export function checkGroups(optimizer: string, count: number, groups: SegmentGroups, seen: Uint8Array): void {
  seen.fill(0);
  let covered = 0;
  groups.groups.forEach((group, g) => {
    for (const i of group) {
      if (!Number.isInteger(i) || i < 0 || i >= count || seen[i] === 1) {
        throw new ShapeError(
          `${optimizer}: group ${g} names segment ${i}, which is ${seen[i] === 1 ? 'already in a group' : `not one of the ${count} segments`}`,
          { hint: 'the groups must partition the segment indices 0..n−1: every segment in exactly one group' },
        );
      }
      seen[i] = 1;
      covered++;
    }
  });
  if (covered !== count) {
    throw new ShapeError(`${optimizer}: the groups cover ${covered} of the ${count} segments (segment ${seen.indexOf(0)} is in none)`, {
      hint: 'the groups must partition the segment indices 0..n−1: every segment in exactly one group',
    });
  }
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
