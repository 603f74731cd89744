import { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { LstmCellOptions } from '../kernels/signatures/recurrent.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext } from './layer.js';
import { layerSpec } from './options.js';
import type { RecurrentOptions } from './recurrent-common.js';
import {
  OutputGradient, RecurrentLayer, inputGradients, projectInputs, recurrentKernelGradient, recurrentOptions, recurrentShape, gatedShape,
  sequenceOutput, step, steps, toTimeMajor,
} from './recurrent-common.js';

export interface LstmOptions extends RecurrentOptions {
  /** Start the forget gate open (bias +1); Keras `unit_forget_bias`, default true. */
  readonly unitForgetBias: boolean;
}

/** What forward keeps for backward, time-major (Note [time-major buffers] in recurrent-common.ts). */
interface LstmTape {
  readonly xt: Tensor;
  /** Activated gates (i, f, g, o) of every step, [T, B, 4U]. */
  readonly gates: Tensor;
  /** h_0 = 0, h_1..h_T, [T + 1, B, U]. */
  readonly states: Tensor;
  /** c_0 = 0, c_1..c_T, [T + 1, B, U]. */
  readonly cells: Tensor;
}

/**
 * Keras `LSTM`, gate order (i, f, c, o):
 *   z_t = x_t·W + h_{t−1}·U + b                      [B, 4U]
 *   i, f, o = ρ(z_i), ρ(z_f), ρ(z_o);  g = φ(z_c)      (ρ recurrentActivation = sigmoid, φ activation = tanh)
 *   c_t = f ⊙ c_{t−1} + i ⊙ g;  h_t = o ⊙ φ(c_t)
 * The elementwise part of a step is the fused kernel `lstmCellForward` / `lstmCellBackward`; the
 * GEMMs go through matMul. Parameters (Keras layout): kernel [features, 4U], recurrentKernel
 * [U, 4U], bias [4U], each split into the four gate blocks in the order above.
 *
 * Note [unit forget bias]: a forget gate that starts near σ(0) = ½ halves the cell every step and
 * makes long-range gradients vanish early in training (Jozefowicz et al. 2015). Keras bakes a
 * bias of 1 into the forget block at initialisation; an InitializerSpec cannot express a
 * per-block initial value, so we follow TensorFlow's `LSTMCell(forget_bias=1.0)` instead and add
 * the constant inside the cell: f = ρ(z_f + 1). With the default zero bias initialisation both
 * give the same function and the same gradients at every step; the stored bias differs by 1 in
 * the forget block from a Keras checkpoint, which matters only when weights are exchanged.
 */
export class Lstm extends RecurrentLayer<LstmOptions> {
  readonly type = 'lstm';
  readonly #cell: LstmCellOptions;
  #tape: LstmTape | undefined;

  constructor(name: string, inputShape: Shape, options: LstmOptions) {
    super(name, inputShape, options, 4, [4 * options.units]);
    this.#cell = {
      activation: options.activation,
      recurrentActivation: options.recurrentActivation,
      forgetBias: options.unitForgetBias ? 1 : 0,
    };
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const be = ctx.backend;
    const k = be.kernels;
    const [T, B, U] = [x.dim(1), x.dim(0), this.options.units];
    const recurrentKernel = this.binding.value(1);
    const xt = toTimeMajor(x, be);
    const gates = projectInputs(xt, this.binding.value(0), this.binding.value(2), be);
    const states = be.alloc([T + 1, B, U]);
    const cells = be.alloc([T + 1, B, U]);
    for (let t = 0; t < T; t++) {
      const z = step(gates, t);
      k.matMul(step(states, t), recurrentKernel, z, { accumulate: true });
      k.lstmCellForward(z, step(cells, t), step(cells, t + 1), step(states, t + 1), this.#cell);
    }
    this.#tape = { xt, gates, states, cells };
    return sequenceOutput(states, this.options.returnSequences, be);
  }

  /**
   * BPTT: two quantities flow back in time, dh (through z_t = … + h_{t−1}·U, so dh_{t−1} =
   * dz_t·Uᵀ) and dc (through c_t = f ⊙ c_{t−1} + …, carried by the cell kernel in place). The
   * weight gradients are then one GEMM each over all steps.
   */
  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const be = ctx.backend;
    const k = be.kernels;
    const { xt, gates, states, cells } = saved(this.#tape, this.name);
    const [T, B, U] = [xt.dim(0), xt.dim(1), this.options.units];
    const recurrentKernel = this.binding.value(1);
    const fromAbove = new OutputGradient(dy, this.options.returnSequences, T, be);
    const dGates = be.alloc([T, B, 4 * U]);
    const dh = be.alloc([B, U]);
    const dc = be.alloc([B, U]);
    for (let t = T - 1; t >= 0; t--) {
      fromAbove.addTo(dh, t, be);
      const dz = step(dGates, t);
      k.lstmCellBackward(step(gates, t), step(cells, t), step(cells, t + 1), dh, dc, dz, this.#cell);
      // h_{t−1} reaches the loss only through z_t, so this overwrites dh; h_0 is a constant.
      if (t > 0) k.matMul(dz, recurrentKernel, dh, { transposeB: true });
    }
    recurrentKernelGradient(states, dGates, this.binding.slot(1), be);
    k.biasGrad(steps(dGates, 0, T), this.binding.slot(2));
    return inputGradients(xt, dGates, this.binding.value(0), this.binding.slot(0), be, needInputGradient);
  }
}

export const lstmSpec = layerSpec('lstm', { ...recurrentShape, ...gatedShape, unitForgetBias: z.boolean().default(true) });

/** `{ "type": "lstm", "units": 128, "returnSequences": false, "unitForgetBias": true, ... }`. */
export function fromSpec(spec: z.output<typeof lstmSpec>, inputShape: Shape, name: string, scope: ValidationScope): Lstm {
  return new Lstm(name, inputShape, { ...recurrentOptions(spec, 'lstm', name, inputShape, scope), unitForgetBias: spec.unitForgetBias });
}
