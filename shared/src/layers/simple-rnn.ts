import type { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { saved } from './binding.js';
import type { ForwardContext } from './layer.js';
import { layerSpec } from './options.js';
import type { RecurrentOptions } from './recurrent-common.js';
import {
  OutputGradient, RecurrentLayer, inputGradients, projectInputs, recurrentKernelGradient, recurrentOptions, recurrentShape,
  sequenceOutput, step, steps, toTimeMajor,
} from './recurrent-common.js';

/** What forward keeps for backward, all time-major (Note [time-major buffers] in recurrent-common.ts). */
interface SimpleRnnTape {
  /** Input [T, B, F]. */
  readonly xt: Tensor;
  /** Pre-activations a_t = x_t·W + h_{t−1}·U + b, [T, B, U]. */
  readonly pre: Tensor;
  /** h_0 = 0 and h_1..h_T, [T + 1, B, U]. */
  readonly states: Tensor;
}

/**
 * Keras `SimpleRNN`: h_t = φ(x_t·W + h_{t−1}·U + b), h_0 = 0, φ = `activation` (tanh).
 * Parameters (Keras layout): kernel W [features, units], recurrentKernel U [units, units], bias [units].
 * Built from existing kernels only (matMul, biasAdd, activation): there is no gate to fuse.
 */
export class SimpleRnn extends RecurrentLayer<RecurrentOptions> {
  readonly type = 'simpleRnn';
  #tape: SimpleRnnTape | undefined;

  constructor(name: string, inputShape: Shape, options: RecurrentOptions) {
    super(name, inputShape, options, 1, [options.units]);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const be = ctx.backend;
    const k = be.kernels;
    const [T, B, U] = [x.dim(1), x.dim(0), this.options.units];
    const recurrentKernel = this.binding.value(1);
    const xt = toTimeMajor(x, be);
    const pre = projectInputs(xt, this.binding.value(0), this.binding.value(2), be);
    const states = be.alloc([T + 1, B, U]);
    for (let t = 0; t < T; t++) {
      const a = step(pre, t);
      k.matMul(step(states, t), recurrentKernel, a, { accumulate: true });
      k.activation(this.options.activation, a, step(states, t + 1), 0);
    }
    this.#tape = { xt, pre, states };
    return sequenceOutput(states, this.options.returnSequences, be);
  }

  /**
   * BPTT, from the last step back: da_t = φ'(a_t) ⊙ dh_t, dh_{t−1} = da_t·Uᵀ (+ ∂L/∂y_{t−1} from above);
   * then dW = Σ x_tᵀ·da_t, dU = Σ h_{t−1}ᵀ·da_t, db = Σ da_t as one GEMM / reduction each.
   */
  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const be = ctx.backend;
    const k = be.kernels;
    const { xt, pre, states } = saved(this.#tape, this.name);
    const [T, B, U] = [xt.dim(0), xt.dim(1), this.options.units];
    const recurrentKernel = this.binding.value(1);
    const fromAbove = new OutputGradient(dy, this.options.returnSequences, T, be);
    const dPre = be.alloc([T, B, U]);
    const dh = be.alloc([B, U]);
    for (let t = T - 1; t >= 0; t--) {
      fromAbove.addTo(dh, t, be);
      const da = step(dPre, t);
      k.activationBackward(this.options.activation, dh, step(pre, t), step(states, t + 1), da, 0);
      // h_0 is the constant zero state: nothing flows into it.
      if (t > 0) k.matMul(da, recurrentKernel, dh, { transposeB: true });
    }
    recurrentKernelGradient(states, dPre, this.binding.slot(1), be);
    k.biasGrad(steps(dPre, 0, T), this.binding.slot(2));
    return inputGradients(xt, dPre, this.binding.value(0), this.binding.slot(0), be, needInputGradient);
  }
}

export const simpleRnnSpec = layerSpec('simpleRnn', recurrentShape);

/** `{ "type": "simpleRnn", "units": 32, "returnSequences": false, "activation": "tanh", ... }`. */
export function fromSpec(spec: z.output<typeof simpleRnnSpec>, inputShape: Shape, name: string, scope: ValidationScope): SimpleRnn {
  return new SimpleRnn(name, inputShape, recurrentOptions(spec, 'simpleRnn', name, inputShape, scope));
}
