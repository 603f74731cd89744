import type { Tensor } from '../../tensor/tensor.js';

/**
 * Recurrent cell kernels: the gate math of one time step of an LSTM or GRU, fused so that a fast
 * backend can do a step's elementwise work in one pass (the GEMMs stay in `matMul`). The
 * reference implementations live in `../reference/recurrent.ts`.
 *
 * Every tensor here is a 2-D row-major [batch, width] view of one time step; the layers slice
 * them out of time-major [time, batch, width] buffers, which is why `swapLeadingAxes` exists.
 */

/**
 * Activations a recurrent cell may use. Only kinds whose derivative can be computed from their
 * OUTPUT are allowed, because the fused kernels keep activated gates, not pre-activations, for
 * the backward pass (the Keras default cells use tanh and sigmoid).
 */
export type RecurrentActivation = 'tanh' | 'sigmoid' | 'relu' | 'linear';

export const RECURRENT_ACTIVATIONS: readonly RecurrentActivation[] = ['tanh', 'sigmoid', 'relu', 'linear'];

export interface CellActivations {
  /** Candidate / output activation (Keras `activation`, default tanh). */
  readonly activation: RecurrentActivation;
  /** Gate activation (Keras `recurrent_activation`, default sigmoid). */
  readonly recurrentActivation: RecurrentActivation;
}

export interface LstmCellOptions extends CellActivations {
  /**
   * Constant added to the forget gate's pre-activation (TensorFlow's `LSTMCell(forget_bias=1)`):
   * f = σ(z_f + forgetBias). 0 for a plain cell. See Note [unit forget bias] in layers/lstm.ts.
   */
  readonly forgetBias: number;
}

export interface RecurrentKernels {
  /**
   * out[j, i, :] = x[i, j, :] for x [A, B, C] and out [B, A, C]: batch-major [batch, time, features]
   * ↔ time-major [time, batch, features]. In time-major order a step's rows are contiguous, so
   * one GEMM covers every step of the input projection and of the weight gradients.
   */
  swapLeadingAxes(x: Tensor, out: Tensor): void;

  /**
   * One LSTM step, Keras gate order (i, f, c, o), units U:
   *   i = ρ(z_i), f = ρ(z_f + forgetBias), g = φ(z_c), o = ρ(z_o)   (ρ recurrentActivation, φ activation)
   *   c = f ⊙ cPrev + i ⊙ g,   h = o ⊙ φ(c)
   * `gates` [B, 4U] holds z = x·W + hPrev·U + b on entry and the activated (i, f, g, o) on exit,
   * which is what backward needs. Writes c [B, U] and h [B, U].
   */
  lstmCellForward(gates: Tensor, cPrev: Tensor, c: Tensor, h: Tensor, options: LstmCellOptions): void;

  /**
   * Backward of `lstmCellForward` for one step. `gates` are the activated gates it left behind.
   * dh [B, U]: total ∂L/∂h of this step (read only). dc [B, U]: on entry ∂L/∂c carried back from
   * the next step, on exit ∂L/∂cPrev (updated in place). Overwrites dGates [B, 4U] with ∂L/∂z.
   */
  lstmCellBackward(gates: Tensor, cPrev: Tensor, c: Tensor, dh: Tensor, dc: Tensor, dGates: Tensor, options: LstmCellOptions): void;

  /**
   * One GRU step, Keras gate order (z, r, h) with `reset_after = true` (the Keras 2.x/3.x and
   * cuDNN variant: the reset gate multiplies the recurrent projection AFTER the matmul):
   *   z = ρ(xp_z + rp_z),  r = ρ(xp_r + rp_r),  ĥ = φ(xp_h + r ⊙ rp_h),  h = z ⊙ hPrev + (1 − z) ⊙ ĥ
   * where xp = x·W + b_input and rp = hPrev·U + b_recurrent, both [B, 3U].
   * `projection` holds xp on entry and the activated (z, r, ĥ) on exit; `recurrentProjection`
   * is read only (backward needs rp_h again). Writes h [B, U].
   */
  gruCellForward(projection: Tensor, recurrentProjection: Tensor, hPrev: Tensor, h: Tensor, options: CellActivations): void;

  /**
   * Backward of `gruCellForward` for one step. dh [B, U]: total ∂L/∂h of this step on entry; on
   * exit the part of ∂L/∂hPrev that does not pass through U (dh ⊙ z), in place, so the caller
   * finishes it with dh += dRecurrentProjection·Uᵀ. Overwrites dProjection [B, 3U] (∂L/∂xp) and
   * dRecurrentProjection [B, 3U] (∂L/∂rp).
   */
  gruCellBackward(
    gates: Tensor, recurrentProjection: Tensor, hPrev: Tensor, dh: Tensor,
    dProjection: Tensor, dRecurrentProjection: Tensor, options: CellActivations,
  ): void;
}
