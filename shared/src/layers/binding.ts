import { InternalError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/tensor.js';
import type { ParamSpec } from './layer.js';

/**
 * A layer's bound parameter values and update slots (views into the model's flat buffers), in
 * `params` order. Checks the binding once, so forward/backward can index without re-checking.
 */
export class ParamBinding {
  readonly #layer: string;
  readonly #params: readonly ParamSpec[];
  #values: readonly Tensor[] = [];
  #slots: readonly Tensor[] = [];

  constructor(layer: string, params: readonly ParamSpec[]) {
    this.#layer = layer;
    this.#params = params;
  }

  bind(values: readonly Tensor[], slots: readonly Tensor[]): void {
    const n = this.#params.length;
    if (values.length !== n || slots.length !== n) {
      throw new ShapeError(`layer ${this.#layer}: bind got ${values.length} values and ${slots.length} slots for ${n} parameters`);
    }
    this.#params.forEach((p, i) => {
      for (const t of [values[i]!, slots[i]!]) {
        if (!shapesEqual(t.shape, p.shape)) {
          throw new ShapeError(`layer ${this.#layer}: parameter ${p.name} bound to ${formatShape(t.shape)}, expected ${formatShape(p.shape)}`);
        }
      }
    });
    this.#values = values;
    this.#slots = slots;
  }

  value(i: number): Tensor {
    return this.#values[i] ?? notReady(this.#layer, 'bind() was not called before forward');
  }

  slot(i: number): Tensor {
    return this.#slots[i] ?? notReady(this.#layer, 'bind() was not called before forward');
  }
}

/** A layer used out of order (forward before bind, backward before forward): a bug in the caller. */
export function notReady(layer: string, what: string): never {
  throw new InternalError(`layer ${layer}: ${what}`, { context: { layer } });
}

/** The tensor a forward saved for backward, or a clear error when backward comes first. */
export function saved<T>(value: T | undefined, layer: string): T {
  return value === undefined ? notReady(layer, 'backward() called before forward()') : value;
}
