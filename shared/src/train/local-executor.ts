import { fillBatch, fillInputs } from '../data/batcher.js';
import type { Dataset } from '../data/dataset.js';
import { BackendError } from '../errors.js';
import { microBatchRanges } from '../data/sampler.js';
import type { Backend } from '../kernels/backend.js';
import type { Network, BatchStats, Batch } from '../model/network.js';
import type { ParameterStore } from '../model/parameters.js';
import { Random } from '../random.js';
import { Tensor } from '../tensor/tensor.js';
import type { GradientExecutor } from './executor.js';
import type { GradientStream } from './overlap/gradient-stream.js';
import type { ParameterGateRef } from './overlap/parameter-gates.js';
import { addStats, emptyStats } from './executor.js';

export interface LocalExecutorOptions {
  readonly seed: number;
  /** Samples per micro-batch; Infinity = the whole range at once. */
  readonly microBatch: number;
  /** Autoencoders and VAEs learn to reproduce their input: targets are the inputs. */
  readonly targetsAreInputs: boolean;
  /** Samples per forward pass in evaluate/predict. */
  readonly evalBatch?: number;
}

/**
 * Runs micro-batches one after another on the calling thread. With several micro-batches the
 * slots of each are summed into an accumulator in micro-batch order (never completion order).
 */
export class LocalExecutor implements GradientExecutor {
  readonly #network: Network;
  readonly #backend: Backend;
  readonly #store: ParameterStore;
  readonly #options: LocalExecutorOptions;
  #accumulator: Float32Array | undefined;

  constructor(network: Network, backend: Backend, store: ParameterStore, options: LocalExecutorOptions) {
    this.#network = network;
    this.#backend = backend;
    this.#store = store;
    this.#options = options;
  }

  /** Computes on the calling thread, so nothing can overlap: a `stream`'s buckets are all released at the end. */
  /** Its forward runs on the main thread, which is the one that would open the gates. */
  readonly acceptsParameterGates = false;

  async computeGradients(data: Dataset, indices: ArrayLike<number>, start: number, end: number, step: number, firstMicro = 0, stream?: GradientStream, gate?: ParameterGateRef): Promise<BatchStats> {
    if (gate !== undefined) throw new BackendError('the main-thread executor cannot wait for parameter gates', { hint: 'hand steps out early only to a pool executor (acceptsParameterGates)' });
    const ranges = microBatchRanges(start, end, Number.isFinite(this.#options.microBatch) ? this.#options.microBatch : Math.max(1, end - start));
    const slots = this.#store.slots.data;
    let total = emptyStats();
    ranges.forEach(([s, e], micro) => {
      const batch = this.#batch(data, indices, s, e);
      const rng = Random.derive(this.#options.seed, step, firstMicro + micro);
      total = addStats(total, this.#network.trainBatch(batch, { backend: this.#backend, training: true, rng }));
      this.#backend.releaseScratch();
      if (ranges.length > 1) {
        if (micro === 0) {
          this.#accumulator ??= new Float32Array(slots.length);
          this.#accumulator.set(slots);
        } else {
          const acc = this.#accumulator!;
          for (let i = 0; i < acc.length; i++) acc[i]! += slots[i]!;
        }
      }
    });
    if (ranges.length > 1) slots.set(this.#accumulator!);
    if (stream !== undefined) for (let b = 0; b < stream.buckets.length; b++) stream.release(b);
    return total;
  }

  async evaluate(data: Dataset, indices: ArrayLike<number>, start: number, end: number): Promise<BatchStats> {
    let total = emptyStats();
    for (const [s, e] of microBatchRanges(start, end, this.#options.evalBatch ?? 256)) {
      const batch = this.#batch(data, indices, s, e);
      total = addStats(total, this.#network.evaluateBatch(batch, { backend: this.#backend, training: false, rng: Random.derive(this.#options.seed, 0x7fffffff, s) }));
      this.#backend.releaseScratch();
    }
    return total;
  }

  async predict(data: Dataset, indices: ArrayLike<number>, start: number, end: number): Promise<Tensor> {
    const outShape = this.#network.outputShape;
    const per = outShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array((end - start) * per);
    for (const [s, e] of microBatchRanges(start, end, this.#options.evalBatch ?? 256)) {
      const x = fillInputs(data, indices, s, e, this.#backend, this.#network.inputShape);
      const y = this.#network.predict(x, { backend: this.#backend, training: false, rng: Random.derive(this.#options.seed, 0x7ffffffe, s) });
      out.set(y.data, (s - start) * per);
      this.#backend.releaseScratch();
    }
    return new Tensor([end - start, ...outShape], out);
  }

  async close(): Promise<void> {}

  #batch(data: Dataset, indices: ArrayLike<number>, s: number, e: number): Batch {
    if (!this.#options.targetsAreInputs) return fillBatch(data, indices, s, e, this.#backend, this.#network.inputShape);
    const x = fillInputs(data, indices, s, e, this.#backend, this.#network.inputShape);
    return { x, y: x, count: e - s };
  }
}
