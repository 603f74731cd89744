import { InternalError } from '../errors.js';
import { createHash } from 'node:crypto';
import type { Backend } from '../kernels/backend.js';
import type { Layer, ParamSpec } from '../layers/layer.js';
import { initialize } from '../initializers/initialize.js';
import type { Random } from '../random.js';
import type { RegularizerSpec } from '../regularizers/spec.js';
import { Tensor, sizeOf } from '../tensor/tensor.js';
import type { Network } from './network.js';

/** One parameter of one layer, with views of its value and update slot in the flat buffers. */
export interface ParameterEntry {
  readonly layer: string;
  readonly spec: ParamSpec;
  /** Offset in elements within the flat buffers. */
  readonly offset: number;
  readonly value: Tensor;
  readonly slot: Tensor;
}

/** A trainable parameter as the optimizer sees it. */
export interface TrainableSegment {
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly regularizer?: RegularizerSpec;
}

/**
 * The model's parameters as two flat float32 buffers in layer order: `values` (θ) and `slots`
 * (∂L/∂θ for trained parameters, observed statistics for running ones). Flat buffers make the
 * all-reduce one buffer, the checksum one hash, and a checkpoint one copy.
 */
export class ParameterStore {
  readonly values: Tensor;
  readonly slots: Tensor;
  readonly entries: readonly ParameterEntry[];
  readonly trainable: readonly TrainableSegment[];
  readonly running: readonly ParameterEntry[];
  #best: Float32Array | undefined;

  constructor(network: Network, backend: Backend) {
    const n = network.parameterCount;
    this.values = backend.allocPersistent([n]);
    this.slots = backend.allocPersistent([n]);
    const entries: ParameterEntry[] = [];
    let offset = 0;
    for (const layer of network.layers as readonly Layer[]) {
      for (const spec of layer.params) {
        const size = sizeOf(spec.shape);
        entries.push({
          layer: layer.name,
          spec,
          offset,
          value: new Tensor(spec.shape, this.values.data.subarray(offset, offset + size)),
          slot: new Tensor(spec.shape, this.slots.data.subarray(offset, offset + size)),
        });
        offset += size;
      }
    }
    this.entries = entries;
    this.trainable = entries
      .filter((e) => e.spec.update.kind === 'gradient')
      .map((e) => {
        const u = e.spec.update;
        const reg = u.kind === 'gradient' ? u.regularizer : undefined;
        return reg ? { value: e.value, grad: e.slot, regularizer: reg } : { value: e.value, grad: e.slot };
      });
    this.running = entries.filter((e) => e.spec.update.kind === 'running');
    network.bind(this.values.data, this.slots.data);
  }

  /** Initialises every parameter in layer order from one generator (so every replica draws the same values). */
  initialize(rng: Random): void {
    for (const e of this.entries) initialize(e.spec.init, e.spec.shape, rng, e.value.data);
  }

  /** sha256 (hex) of all parameter values as little-endian float32, in layer order. */
  checksum(): string {
    const v = this.values.data;
    // Copy out: the buffer may be a view of a shared WebAssembly memory, which hash.update refuses.
    return createHash('sha256').update(Buffer.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice())).digest('hex');
  }

  /**
   * Early stopping's snapshot of the best epoch's values (restoreBestWeights), kept beside the values it
   * restores; checkpoints store it, so a resumed run can still restore it.
   */
  get best(): Float32Array | undefined {
    return this.#best;
  }

  /** Snapshots the current values as the best. */
  keepBest(): void {
    this.#best = this.values.data.slice();
  }

  /** Puts a snapshot read from a checkpoint in place (undefined: none was taken). */
  setBest(values: Float32Array | undefined): void {
    if (values !== undefined && values.length !== this.values.size) throw new InternalError(`ParameterStore.setBest: ${values.length} values for ${this.values.size} parameters`);
    this.#best = values;
  }

  /** Copies the best snapshot back into the values; false when there is none. */
  restoreBest(): boolean {
    if (this.#best === undefined) return false;
    this.values.data.set(this.#best);
    return true;
  }

  /** Number of values in trained (gradient) parameters. */
  get trainableCount(): number {
    return this.trainable.reduce((n, s) => n + s.value.size, 0);
  }
}
