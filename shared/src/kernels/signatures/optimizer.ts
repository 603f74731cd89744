import type { Tensor } from '../../tensor/tensor.js';

export interface AdamUpdate {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** 1-based step count, for bias correction. */
  readonly step: number;
  /** L2 added to the gradient (Adam) or decoupled decay lr·wd·θ (AdamW), per `decoupled`. */
  readonly weightDecay: number;
  readonly decoupled: boolean;
}

export interface SgdUpdate {
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
}

/** Fused optimizer updates, in place on param and state. */
export interface OptimizerKernels {
  adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, u: AdamUpdate): void;
  /** velocity may be null when momentum is 0. */
  sgdUpdate(param: Tensor, grad: Tensor, velocity: Tensor | null, u: SgdUpdate): void;
}
