import { z } from 'zod';
import { intPair, positiveInt } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { regularizerSpec } from '../regularizers/from-spec.js';
import type { InitializerSpec } from '../initializers/spec.js';
import { conv2dGeometry } from '../kernels/geometry.js';
import type { Padding } from '../kernels/geometry.js';
import type { WindowGeometry } from '../kernels/signatures/conv.js';
import type { RegularizerSpec } from '../regularizers/spec.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { ActivationOp } from './activation-op.js';
import type { LayerActivation } from './activation-op.js';
import { ParamBinding, saved } from './binding.js';
import type { ForwardContext, Layer, ParamSpec } from './layer.js';
import { activationChoice, activationOptions, atLayer, initializer, layerSpec, padding, requireInputRank, toPair } from './options.js';

export interface Conv2DOptions {
  readonly filters: number;
  readonly kernelSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
  readonly activation: LayerActivation;
  readonly alpha: number;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerSpec;
  readonly biasInitializer: InitializerSpec;
  readonly kernelRegularizer?: RegularizerSpec;
}

/** y = f(x ⋆ K + b) over NHWC input [H, W, C]; K is [kh, kw, C, filters] (the Keras layout). */
export class Conv2D implements Layer {
  readonly type = 'conv2d';
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly #options: Conv2DOptions;
  readonly #activation: ActivationOp;
  readonly #binding: ParamBinding;
  #x: Tensor | undefined;
  #geometry: WindowGeometry | undefined;

  constructor(name: string, inputShape: Shape, options: Conv2DOptions) {
    this.name = name;
    this.inputShape = inputShape;
    this.#options = options;
    const g = this.#geometryFor(1);
    this.outputShape = [g.outHeight, g.outWidth, options.filters];
    this.#activation = new ActivationOp(options.activation, options.alpha);
    const kernel: ParamSpec = {
      name: 'kernel',
      shape: [options.kernelSize[0], options.kernelSize[1], inputShape[2]!, options.filters],
      init: options.kernelInitializer,
      update: options.kernelRegularizer ? { kind: 'gradient', regularizer: options.kernelRegularizer } : { kind: 'gradient' },
    };
    const bias: ParamSpec = { name: 'bias', shape: [options.filters], init: options.biasInitializer, update: { kind: 'gradient' } };
    this.params = options.useBias ? [kernel, bias] : [kernel];
    this.#binding = new ParamBinding(name, this.params);
  }

  #geometryFor(batch: number): WindowGeometry {
    const o = this.#options;
    return conv2dGeometry([batch, ...this.inputShape], o.kernelSize, o.filters, o.strides, o.padding);
  }

  bind(values: readonly Tensor[], slots: readonly Tensor[]): void {
    this.#binding.bind(values, slots);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const k = ctx.backend.kernels;
    const g = this.#geometryFor(x.dim(0));
    const z = ctx.backend.allocUninitialized([g.batch, ...this.outputShape]); // conv2d overwrites z
    k.conv2d(x, this.#binding.value(0), z, g);
    if (this.#options.useBias) k.biasAdd(z, this.#binding.value(1), z);
    this.#x = x;
    this.#geometry = g;
    return this.#activation.forward(z, ctx);
  }

  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    const k = ctx.backend.kernels;
    const x = saved(this.#x, this.name);
    const g = saved(this.#geometry, this.name);
    const dz = this.#activation.backward(dy, ctx);
    k.conv2dBackpropFilter(x, dz, this.#binding.slot(0), g);
    if (this.#options.useBias) k.biasGrad(dz, this.#binding.slot(1));
    if (!needInputGradient) return null;
    const dx = ctx.backend.allocUninitialized(x.shape); // conv2dBackpropInput overwrites dx
    k.conv2dBackpropInput(dz, this.#binding.value(0), dx, g);
    return dx;
  }
}

/** `{ "type": "conv2d", "filters": 32, "kernelSize": 3, "padding": "same", "activation": "relu" }`. */
export const conv2dSpec = layerSpec('conv2d', {
  filters: positiveInt(),
  kernelSize: intPair(),
  strides: intPair().default(1),
  padding: padding(),
  ...activationOptions('linear'),
  useBias: z.boolean().default(true),
  kernelInitializer: initializer('glorotUniform'),
  biasInitializer: initializer('zeros'),
  kernelRegularizer: regularizerSpec.optional(),
});

export function fromSpec(spec: z.output<typeof conv2dSpec>, inputShape: Shape, name: string, scope: ValidationScope): Conv2D {
  requireInputRank('conv2d', name, inputShape, 3, scope, 'conv2d takes [height, width, channels] per sample; add a reshape layer (e.g. targetShape [28, 28, 1]) before it');
  const { kind, alpha } = activationChoice(spec);
  const layerOptions: Conv2DOptions = {
    filters: spec.filters,
    kernelSize: toPair(spec.kernelSize),
    strides: toPair(spec.strides),
    padding: spec.padding,
    activation: kind,
    alpha,
    useBias: spec.useBias,
    kernelInitializer: spec.kernelInitializer,
    biasInitializer: spec.biasInitializer,
    ...(spec.kernelRegularizer ? { kernelRegularizer: spec.kernelRegularizer } : {}),
  };
  return atLayer(scope, name, () => new Conv2D(name, inputShape, layerOptions));
}
