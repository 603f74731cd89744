import type { ParamSegment } from '../../../shared/src/optimizers/optimizer.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

/** One flat segment per entry: values θ and gradients g. */
export function segments(...params: { theta: number[]; grad: number[] }[]): ParamSegment[] {
  return params.map((p) => ({ value: Tensor.from([p.theta.length], p.theta), grad: Tensor.from([p.grad.length], p.grad) }));
}

export function setGrads(segs: readonly ParamSegment[], ...grads: number[][]): void {
  segs.forEach((s, i) => s.grad.data.set(grads[i] ?? []));
}
