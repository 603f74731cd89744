import type { ParamSegment } from '../optimizers/optimizer.js';

/**
 * Adds the weight penalty's gradient to each regularised segment and returns the penalty.
 *
 * Runs after the trainer has turned the summed gradients into per-sample means and before
 * clipping and the optimizer step. The penalty l1·Σ|θ| + l2·Σθ² belongs to the MEAN loss, so it
 * is added once per step (not once per sample); its gradient l1·sign(θ) + 2·l2·θ is added to the
 * mean gradient accordingly. sign(0) = 0, the subgradient that leaves exact zeros alone.
 *
 * The penalty is accumulated in float64 over segments and elements in order, so every replica
 * reports the same number.
 */
export function applyRegularization(segments: readonly ParamSegment[]): number {
  let penalty = 0;
  for (const segment of segments) {
    penalty += segmentPenalty(segment);
    addRegularizationGradient(segment);
  }
  return penalty;
}

/**
 * The penalty of `applyRegularization` alone, from the values (before any of them is updated): the same float64
 * sums, per segment and then over segments in order, so the same bits. For an update applied part by part
 * (Note [update as the buckets arrive] in train/update.ts), whose parts add their gradients later.
 */
export function regularizationPenalty(segments: readonly ParamSegment[]): number {
  let penalty = 0;
  for (const segment of segments) penalty += segmentPenalty(segment);
  return penalty;
}

/** l1·Σ|θ| + l2·Σθ² of one segment, accumulated in float64 in element order (0 when it is not regularised). */
function segmentPenalty(segment: ParamSegment): number {
  const r = segment.regularizer;
  if (r === undefined || (r.l1 === 0 && r.l2 === 0)) return 0;
  const theta = segment.value.data;
  let absSum = 0;
  let squareSum = 0;
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i] as number;
    absSum += Math.abs(t);
    squareSum += t * t;
  }
  return r.l1 * absSum + r.l2 * squareSum;
}

/** The gradient half of `applyRegularization` for one segment: l1·sign(θ) + 2·l2·θ added to each element. */
export function addRegularizationGradient(segment: ParamSegment): void {
  const r = segment.regularizer;
  if (r === undefined || (r.l1 === 0 && r.l2 === 0)) return;
  const theta = segment.value.data;
  const grad = segment.grad.data;
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i] as number;
    grad[i] = (grad[i] as number) + r.l1 * Math.sign(t) + 2 * r.l2 * t;
  }
}
