import { z } from 'zod';
import { positiveInt } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import type { InitializerSpec } from '../initializers/spec.js';
import type { Backend } from '../kernels/backend.js';
import type { RecurrentActivation } from '../kernels/signatures/recurrent.js';
import { RECURRENT_ACTIVATIONS } from '../kernels/signatures/recurrent.js';
import type { RegularizerSpec } from '../regularizers/spec.js';
import type { Shape } from '../tensor/tensor.js';
import { Tensor } from '../tensor/tensor.js';
import { ParamBinding } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { regularizerSpec } from '../regularizers/from-spec.js';
import { initializer, requireInputRank } from './options.js';

/**
 * What SimpleRNN, LSTM and GRU share: their options, their parameter layout, and the plumbing
 * between the batch-major tensors a layer sees and the time-major buffers its cell loop runs on.
 * The cell math itself lives in each layer's file (and, fused, in the recurrent kernels).
 *
 * Note [time-major buffers]: the input [B, T, F] is turned once into [T, B, F]. Then the rows of
 * step t are contiguous, so (a) the input projection x·W of EVERY step is one GEMM over T·B rows
 * before the loop, and (b) the weight gradients Σ_t x_tᵀ·dz_t and Σ_t h_{t−1}ᵀ·dz_t, the sums
 * over time of BPTT, are each one GEMM over T·B rows after the loop (the time sum is the GEMM's
 * inner sum). Only h_{t−1}·U and dz_t·Uᵀ must run step by step. The states buffer holds
 * h_0 = 0 in block 0 and h_t in block t, so blocks 0..T−1 are exactly the h_{t−1} of the steps.
 */

export interface RecurrentOptions {
  readonly units: number;
  /** Output every step's h ([T, units]) instead of the last one ([units]). */
  readonly returnSequences: boolean;
  readonly activation: RecurrentActivation;
  /** Gate activation (LSTM, GRU); SimpleRNN has no gates and ignores it. */
  readonly recurrentActivation: RecurrentActivation;
  readonly kernelInitializer: InitializerSpec;
  readonly recurrentInitializer: InitializerSpec;
  readonly biasInitializer: InitializerSpec;
  readonly kernelRegularizer?: RegularizerSpec;
  readonly recurrentRegularizer?: RegularizerSpec;
}

const recurrentActivation = () => z.enum(RECURRENT_ACTIVATIONS as [RecurrentActivation, ...RecurrentActivation[]]);

/** Options every recurrent layer spec accepts (Keras defaults); the gated cells add `gatedShape`. */
export const recurrentShape = {
  units: positiveInt(),
  returnSequences: z.boolean().default(false).describe('Output every time step ([time, units]) instead of the last ([units]).'),
  activation: recurrentActivation().default('tanh'),
  kernelInitializer: initializer('glorotUniform'),
  recurrentInitializer: initializer('orthogonal'),
  biasInitializer: initializer('zeros'),
  kernelRegularizer: regularizerSpec.optional(),
  recurrentRegularizer: regularizerSpec.optional(),
};

export const gatedShape = { recurrentActivation: recurrentActivation().default('sigmoid') };

type RecurrentSpec = z.output<z.ZodObject<typeof recurrentShape>> & { readonly recurrentActivation?: RecurrentActivation };

/** The layer options of a validated spec; checks the input is [time, features]. */
export function recurrentOptions(spec: RecurrentSpec, type: string, name: string, inputShape: Shape, scope: ValidationScope): RecurrentOptions {
  requireInputRank(
    type, name, inputShape, 2, scope,
    'a recurrent layer reads [time, features] per sample: give the model inputShape [28, 28] for MNIST rows, or set returnSequences: true on the recurrent layer before it',
  );
  return {
    units: spec.units,
    returnSequences: spec.returnSequences,
    activation: spec.activation,
    recurrentActivation: spec.recurrentActivation ?? 'sigmoid',
    kernelInitializer: spec.kernelInitializer,
    recurrentInitializer: spec.recurrentInitializer,
    biasInitializer: spec.biasInitializer,
    ...(spec.kernelRegularizer ? { kernelRegularizer: spec.kernelRegularizer } : {}),
    ...(spec.recurrentRegularizer ? { recurrentRegularizer: spec.recurrentRegularizer } : {}),
  };
}

/** Options built in code (tests, programmatic models): Keras defaults for everything not given. */
export function withRecurrentDefaults(options: Partial<RecurrentOptions> & { readonly units: number }): RecurrentOptions {
  return {
    returnSequences: false,
    activation: 'tanh',
    recurrentActivation: 'sigmoid',
    kernelInitializer: 'glorotUniform',
    recurrentInitializer: 'orthogonal',
    biasInitializer: 'zeros',
    ...options,
  };
}

/**
 * The part of a recurrent layer that does not depend on its cell: identity, shapes, the Keras
 * parameter layout and its binding. Each subclass writes its own forward and backward, side by
 * side, over the helpers below; `binding` holds, in this order, kernel (0), recurrentKernel (1)
 * and bias (2).
 */
export abstract class RecurrentLayer<O extends RecurrentOptions> implements Layer {
  abstract readonly type: string;
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly options: O;
  protected readonly binding: ParamBinding;

  /** `gates` blocks of `units` columns in kernel and recurrentKernel; a bias of `biasShape`. */
  constructor(name: string, inputShape: Shape, options: O, gates: number, biasShape: Shape) {
    this.name = name;
    this.inputShape = inputShape;
    this.options = options;
    this.outputShape = recurrentOutputShape(inputShape, options);
    this.params = recurrentParams(inputShape, options, gates, biasShape);
    this.binding = new ParamBinding(name, this.params);
  }

  bind(values: readonly Tensor[], slots: readonly Tensor[]): void {
    this.binding.bind(values, slots);
  }

  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;
  abstract backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null;
}

/**
 * The Keras parameter layout for a cell with `gates` blocks of `units` columns:
 * kernel [features, gates·units], recurrentKernel [units, gates·units], bias `biasShape`.
 */
function recurrentParams(inputShape: Shape, o: RecurrentOptions, gates: number, biasShape: Shape): ParamSpec[] {
  const width = gates * o.units;
  return [
    { name: 'kernel', shape: [inputShape[1]!, width], init: o.kernelInitializer, update: gradient(o.kernelRegularizer) },
    { name: 'recurrentKernel', shape: [o.units, width], init: o.recurrentInitializer, update: gradient(o.recurrentRegularizer) },
    { name: 'bias', shape: biasShape, init: o.biasInitializer, update: { kind: 'gradient' } },
  ];
}

function gradient(regularizer: RegularizerSpec | undefined): ParamSpec['update'] {
  return regularizer ? { kind: 'gradient', regularizer } : { kind: 'gradient' };
}

function recurrentOutputShape(inputShape: Shape, o: RecurrentOptions): Shape {
  return o.returnSequences ? [inputShape[0]!, o.units] : [o.units];
}

/** Step t of a time-major buffer [T, B, C] as a 2-D view [B, C] (no copy). */
export function step(seq: Tensor, t: number): Tensor {
  const rows = seq.dim(1);
  const cols = seq.dim(2);
  const size = rows * cols;
  return new Tensor([rows, cols], seq.data.subarray(t * size, (t + 1) * size));
}

/** Steps [from, to) of a time-major buffer [T, B, C] as one 2-D view [(to − from)·B, C]. */
export function steps(seq: Tensor, from: number, to: number): Tensor {
  const rows = seq.dim(1);
  const cols = seq.dim(2);
  return new Tensor([(to - from) * rows, cols], seq.data.subarray(from * rows * cols, to * rows * cols));
}

/** [B, T, F] → time-major [T, B, F] in scratch memory. */
export function toTimeMajor(x: Tensor, backend: Backend): Tensor {
  const out = backend.alloc([x.dim(1), x.dim(0), x.dim(2)]);
  backend.kernels.swapLeadingAxes(x, out);
  return out;
}

/** x_t·W (+ bias) for every step at once: [T, B, F] → [T, B, width] (Note [time-major buffers]). */
export function projectInputs(xt: Tensor, kernel: Tensor, bias: Tensor, backend: Backend): Tensor {
  const out = backend.alloc([xt.dim(0), xt.dim(1), kernel.dim(1)]);
  const flat = steps(out, 0, xt.dim(0));
  backend.kernels.matMul(steps(xt, 0, xt.dim(0)), kernel, flat);
  backend.kernels.biasAdd(flat, bias, flat);
  return out;
}

/** The layer output from the states buffer [T + 1, B, U]: every h_t as [B, T, U], or h_T as [B, U]. */
export function sequenceOutput(states: Tensor, returnSequences: boolean, backend: Backend): Tensor {
  const T = states.dim(0) - 1;
  const B = states.dim(1);
  const U = states.dim(2);
  if (!returnSequences) {
    const last = backend.alloc([B, U]);
    backend.kernels.copy(step(states, T), last);
    return last;
  }
  const out = backend.alloc([B, T, U]);
  backend.kernels.swapLeadingAxes(new Tensor([T, B, U], steps(states, 1, T + 1).data), out);
  return out;
}

/**
 * ∂L/∂y split into time steps: with returnSequences every step receives its slice of dy
 * ([B, T, U], made time-major once); otherwise only the last step receives dy ([B, U]).
 */
export class OutputGradient {
  /** Time-major [T, B, U] with returnSequences; else dy itself, [B, U], for the last step. */
  readonly #dy: Tensor;
  readonly #returnSequences: boolean;
  readonly #steps: number;

  constructor(dy: Tensor, returnSequences: boolean, steps: number, backend: Backend) {
    this.#returnSequences = returnSequences;
    this.#steps = steps;
    this.#dy = returnSequences ? toTimeMajor(dy, backend) : dy;
  }

  /** dh += ∂L/∂y_t, the gradient arriving at step t from above. */
  addTo(dh: Tensor, t: number, backend: Backend): void {
    if (this.#returnSequences) backend.kernels.add(dh, step(this.#dy, t), dh);
    else if (t === this.#steps - 1) backend.kernels.add(dh, this.#dy, dh);
  }
}

/**
 * After the loop: the recurrent kernel gradient Σ_t h_{t−1}ᵀ·dr_t as one GEMM over all steps, where
 * `dRecurrent` is ∂L/∂(h_{t−1}·U) for every step, time-major [T, B, width], and `states` holds
 * h_0..h_T (blocks 0..T−1 are the h_{t−1}; Note [time-major buffers]).
 */
export function recurrentKernelGradient(states: Tensor, dRecurrent: Tensor, recurrentKernelSlot: Tensor, backend: Backend): void {
  const T = dRecurrent.dim(0);
  backend.kernels.matMul(steps(states, 0, T), steps(dRecurrent, 0, T), recurrentKernelSlot, { transposeA: true });
}

/**
 * After the loop: kernel gradient Σ_t x_tᵀ·dp_t and, when asked, ∂L/∂x = dp·Wᵀ back in batch-major
 * [B, T, F]. `dProjection` is ∂L/∂(x·W) for every step, time-major [T, B, width].
 */
export function inputGradients(
  xt: Tensor, dProjection: Tensor, kernel: Tensor, kernelSlot: Tensor, backend: Backend, needInputGradient: boolean,
): Tensor | null {
  const k = backend.kernels;
  const T = xt.dim(0);
  const dpFlat = steps(dProjection, 0, T);
  k.matMul(steps(xt, 0, T), dpFlat, kernelSlot, { transposeA: true });
  if (!needInputGradient) return null;
  const dxt = backend.alloc(xt.shape);
  k.matMul(dpFlat, kernel, steps(dxt, 0, T), { transposeB: true });
  const dx = backend.alloc([xt.dim(1), T, xt.dim(2)]);
  k.swapLeadingAxes(dxt, dx);
  return dx;
}
