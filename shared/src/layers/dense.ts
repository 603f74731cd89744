import { z } from 'zod';
import { positiveInt } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { regularizerSpec } from '../regularizers/from-spec.js';
import type { InitializerSpec } from '../initializers/spec.js';
import type { RegularizerSpec } from '../regularizers/spec.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { ActivationOp } from './activation-op.js';
import type { LayerActivation } from './activation-op.js';
import { ParamBinding, saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { activationChoice, activationOptions, initializer, layerSpec, requireInputRank } from './options.js';

export interface DenseOptions {
  readonly units: number;
  readonly activation: LayerActivation;
  readonly alpha: number;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerSpec;
  readonly biasInitializer: InitializerSpec;
  readonly kernelRegularizer?: RegularizerSpec;
}

/** y = f(x·W + b), x [B, in], W [in, units], b [units]. */
export class Dense implements Layer {
  readonly type = 'dense';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly #useBias: boolean;
  readonly #activation: ActivationOp;
  readonly #binding: ParamBinding;
  #x: Tensor | undefined;

  constructor(name: string, inputShape: Shape, options: DenseOptions) {
    this.name = name;
    this.inputShape = inputShape;
    this.outputShape = [options.units];
    this.#useBias = options.useBias;
    this.#activation = new ActivationOp(options.activation, options.alpha);
    const kernel: ParamSpec = {
      name: 'kernel',
      shape: [inputShape[0]!, options.units],
      init: options.kernelInitializer,
      update: options.kernelRegularizer ? { kind: 'gradient', regularizer: options.kernelRegularizer } : { kind: 'gradient' },
    };
    const bias: ParamSpec = { name: 'bias', shape: [options.units], init: options.biasInitializer, update: { kind: 'gradient' } };
    this.params = options.useBias ? [kernel, bias] : [kernel];
    this.#binding = new ParamBinding(name, this.params);
  }

  bind(values: readonly Tensor[], slots: readonly Tensor[]): void {
    this.#binding.bind(values, slots);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const k = ctx.backend.kernels;
    const z = ctx.backend.alloc([x.dim(0), this.outputShape[0]!]);
    k.matMul(x, this.#binding.value(0), z);
    if (this.#useBias) k.biasAdd(z, this.#binding.value(1), z);
    this.#x = x;
    return this.#activation.forward(z, ctx);
  }

  /** dz = f'·dy;  dW = xᵀ·dz;  db = Σ_rows dz;  dx = dz·Wᵀ. */
  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const k = ctx.backend.kernels;
    const x = saved(this.#x, this.name);
    const dz = this.#activation.backward(dy, ctx);
    k.matMul(x, dz, this.#binding.slot(0), { transposeA: true });
    if (this.#useBias) k.biasGrad(dz, this.#binding.slot(1));
    if (!needInputGradient) return null;
    const dx = ctx.backend.alloc(x.shape);
    k.matMul(dz, this.#binding.value(0), dx, { transposeB: true });
    return dx;
  }
}

/** `{ "type": "dense", "units": 10, "activation": "relu" }`. */
export const denseSpec = layerSpec('dense', {
  units: positiveInt(),
  ...activationOptions('linear'),
  useBias: z.boolean().default(true),
  kernelInitializer: initializer('glorotUniform'),
  biasInitializer: initializer('zeros'),
  kernelRegularizer: regularizerSpec.optional(),
});

export function fromSpec(spec: z.output<typeof denseSpec>, inputShape: Shape, name: string, scope: ValidationScope): Dense {
  requireInputRank('dense', name, inputShape, 1, scope, 'add a flatten layer before it to turn the per-sample tensor into a vector');
  const { kind, alpha } = activationChoice(spec);
  return new Dense(name, inputShape, {
    units: spec.units,
    activation: kind,
    alpha,
    useBias: spec.useBias,
    kernelInitializer: spec.kernelInitializer,
    biasInitializer: spec.biasInitializer,
    ...(spec.kernelRegularizer ? { kernelRegularizer: spec.kernelRegularizer } : {}),
  });
}
