import { z } from 'zod';
import type { ValidationScope } from '../config/validate.js';
import { child } from '../config/validate.js';
import { parseWithSchema } from '../config/schema-errors.js';
import { buildLayer, layerSpec } from '../layers/registry.js';
import type { ForwardContext, Layer } from '../layers/layer.js';
import type { Shape } from '../tensor/tensor.js';
import { Tensor, sizeOf } from '../tensor/tensor.js';

const NON_EMPTY = 'must be a non-empty array of layer specs';

/** The layer specs of a stack, in order. */
export const stackSpec = z.array(layerSpec, { error: NON_EMPTY }).min(1, { error: NON_EMPTY });

/**
 * A chain of layers: the building block of every model kind (a sequential model is one stack,
 * an autoencoder two, a VAE an encoder, two heads and a decoder).
 */
export class LayerStack {
  readonly layers: readonly Layer[];
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  /** Float32 values over all parameters of the stack. */
  readonly parameterCount: number;
  /** slotRanges[i] = layer i's [start, end) in the flat buffers, set by `bind`. */
  #slotRanges: (readonly [number, number])[] = [];

  constructor(layers: readonly Layer[], inputShape: Shape) {
    this.layers = layers;
    this.inputShape = inputShape;
    this.outputShape = layers.length > 0 ? layers[layers.length - 1]!.outputShape : inputShape;
    let n = 0;
    for (const layer of layers) for (const p of layer.params) n += sizeOf(p.shape);
    this.parameterCount = n;
  }

  /**
   * Builds layers from their specs (validated here; a spec validated before passes unchanged),
   * threading each output shape into the next layer. `scope.path` names the array (e.g.
   * `model.layers`); `firstIndex` numbers default names so several stacks of one model get unique names.
   */
  static fromSpecs(specs: unknown, inputShape: Shape, scope: ValidationScope, firstIndex = 0): LayerStack {
    const layers: Layer[] = [];
    let shape = inputShape;
    parseWithSchema(stackSpec, specs, scope).forEach((spec, i) => {
      const layer = buildLayer(spec, shape, firstIndex + i, child(scope, i));
      layers.push(layer);
      shape = layer.outputShape;
    });
    return new LayerStack(layers, inputShape);
  }

  /**
   * Binds every layer to consecutive views of the flat buffers starting at `offset` (in elements);
   * returns the offset after the last parameter. Layer order = parameter order = checksum order.
   */
  bind(values: Float32Array, slots: Float32Array, offset: number): number {
    let at = offset;
    this.#slotRanges = [];
    for (const layer of this.layers) {
      const first = at;
      const vs: Tensor[] = [];
      const ss: Tensor[] = [];
      for (const p of layer.params) {
        const n = sizeOf(p.shape);
        vs.push(new Tensor(p.shape, values.subarray(at, at + n)));
        ss.push(new Tensor(p.shape, slots.subarray(at, at + n)));
        at += n;
      }
      layer.bind(vs, ss);
      this.#slotRanges.push([first, at]);
    }
    return at;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    let y = x;
    const gate = ctx.beforeLayer;
    for (let i = 0; i < this.layers.length; i++) {
      const range = this.#slotRanges[i];
      if (gate !== undefined && range !== undefined) gate(range[0], range[1]);
      y = this.layers[i]!.forward(y, ctx);
    }
    return y;
  }

  /** Backward through every layer; returns ∂L/∂input, or null when `needInputGradient` is false. */
  backward(dy: Tensor, ctx: ForwardContext, needInputGradient: boolean): Tensor | null {
    let g: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const needed = i > 0 || needInputGradient;
      g = this.layers[i]!.backward(g!, ctx, needed);
      const range = this.#slotRanges[i];
      if (ctx.onSlotsFinal !== undefined && range !== undefined) ctx.onSlotsFinal(range[0], range[1]);
    }
    return g;
  }
}
