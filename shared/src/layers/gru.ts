import type { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { CellActivations } from '../kernels/signatures/recurrent.js';
import type { Shape } from '../tensor/tensor.js';
import { Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext } from './layer.js';
import { layerSpec } from './options.js';
import type { RecurrentOptions } from './recurrent-common.js';
import {
  OutputGradient, RecurrentLayer, inputGradients, projectInputs, recurrentKernelGradient, recurrentOptions, recurrentShape, gatedShape,
  sequenceOutput, step, steps, toTimeMajor,
} from './recurrent-common.js';

/** What forward keeps for backward, time-major (Note [time-major buffers] in recurrent-common.ts). */
interface GruTape {
  readonly xt: Tensor;
  /** Activated gates (z, r, ĥ) of every step, [T, B, 3U] (the input projection, overwritten by the cell). */
  readonly gates: Tensor;
  /** rp_t = h_{t−1}·U + b_recurrent, [T, B, 3U]: backward needs rp_h for ∂L/∂r. */
  readonly recurrentProjection: Tensor;
  /** h_0 = 0, h_1..h_T, [T + 1, B, U]. */
  readonly states: Tensor;
}

/**
 * Keras `GRU` with `reset_after = true` (the Keras default since 2.x, and cuDNN's variant), gate
 * order (z, r, h):
 *   xp = x_t·W + b_input,   rp = h_{t−1}·U + b_recurrent                 [B, 3U] each
 *   z = ρ(xp_z + rp_z),  r = ρ(xp_r + rp_r),  ĥ = φ(xp_h + r ⊙ rp_h)
 *   h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ
 * "Reset after" means the reset gate scales the recurrent projection after the matmul, so the
 * whole of h_{t−1}·U is one GEMM per step. Parameters (Keras layout): kernel [features, 3U],
 * recurrentKernel [U, 3U], bias [2, 3U] whose row 0 is b_input and row 1 is b_recurrent (two
 * biases are needed: rp_h, bias included, is what r multiplies). The classic `reset_after = false`
 * variant is not provided.
 */
export class Gru extends RecurrentLayer<RecurrentOptions> {
  readonly type = 'gru';
  readonly #cell: CellActivations;
  #tape: GruTape | undefined;

  constructor(name: string, inputShape: Shape, options: RecurrentOptions) {
    super(name, inputShape, options, 3, [2, 3 * options.units]);
    this.#cell = { activation: options.activation, recurrentActivation: options.recurrentActivation };
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const be = ctx.backend;
    const k = be.kernels;
    const [T, B, U] = [x.dim(1), x.dim(0), this.options.units];
    const recurrentKernel = this.binding.value(1);
    const bias = this.binding.value(2);
    const recurrentBias = biasRow(bias, 1);
    const xt = toTimeMajor(x, be);
    const gates = projectInputs(xt, this.binding.value(0), biasRow(bias, 0), be);
    const recurrentProjection = be.alloc([T, B, 3 * U]);
    const states = be.alloc([T + 1, B, U]);
    for (let t = 0; t < T; t++) {
      const rp = step(recurrentProjection, t);
      k.matMul(step(states, t), recurrentKernel, rp);
      k.biasAdd(rp, recurrentBias, rp);
      k.gruCellForward(step(gates, t), rp, step(states, t), step(states, t + 1), this.#cell);
    }
    this.#tape = { xt, gates, recurrentProjection, states };
    return sequenceOutput(states, this.options.returnSequences, be);
  }

  /**
   * BPTT: h_{t−1} reaches the loss twice, directly (h_t = z ⊙ h_{t−1} + …) and through rp. The
   * cell kernel leaves the direct part dh ⊙ z in dh and the GEMM adds drp·Uᵀ onto it.
   */
  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const be = ctx.backend;
    const k = be.kernels;
    const { xt, gates, recurrentProjection, states } = saved(this.#tape, this.name);
    const [T, B, U] = [xt.dim(0), xt.dim(1), this.options.units];
    const recurrentKernel = this.binding.value(1);
    const fromAbove = new OutputGradient(dy, this.options.returnSequences, T, be);
    const dProjection = be.alloc([T, B, 3 * U]);
    const dRecurrent = be.alloc([T, B, 3 * U]);
    const dh = be.alloc([B, U]);
    for (let t = T - 1; t >= 0; t--) {
      fromAbove.addTo(dh, t, be);
      const drp = step(dRecurrent, t);
      k.gruCellBackward(step(gates, t), step(recurrentProjection, t), step(states, t), dh, step(dProjection, t), drp, this.#cell);
      if (t > 0) k.matMul(drp, recurrentKernel, dh, { transposeB: true, accumulate: true });
    }
    const biasSlot = this.binding.slot(2);
    recurrentKernelGradient(states, dRecurrent, this.binding.slot(1), be);
    k.biasGrad(steps(dProjection, 0, T), biasRow(biasSlot, 0));
    k.biasGrad(steps(dRecurrent, 0, T), biasRow(biasSlot, 1));
    return inputGradients(xt, dProjection, this.binding.value(0), this.binding.slot(0), be, needInputGradient);
  }
}

/** Row r of the [2, 3U] bias (0 = input, 1 = recurrent) as a view. */
function biasRow(bias: Tensor, r: number): Tensor {
  const width = bias.dim(1);
  return new Tensor([width], bias.data.subarray(r * width, (r + 1) * width));
}

export const gruSpec = layerSpec('gru', { ...recurrentShape, ...gatedShape });

/** `{ "type": "gru", "units": 128, "returnSequences": false, ... }` (reset_after variant, see the class). */
export function fromSpec(spec: z.output<typeof gruSpec>, inputShape: Shape, name: string, scope: ValidationScope): Gru {
  return new Gru(name, inputShape, recurrentOptions(spec, 'gru', name, inputShape, scope));
}
