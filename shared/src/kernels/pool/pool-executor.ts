import type { Dataset, DatasetDescriptor } from '../../data/dataset.js';
import { microBatchRanges } from '../../data/sampler.js';
import type { Backend } from '../../kernels/backend.js';
import type { BatchStats, Network } from '../../model/network.js';
import type { ParameterStore } from '../../model/parameters.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GradientExecutor } from '../../train/executor.js';
import { addStats, emptyStats } from '../../train/executor.js';
import type { DataRef, ModelRef } from './tasks.js';
import type { ThreadPool } from './thread-pool.js';
import type { GradientStream } from '../../train/overlap/gradient-stream.js';
import { releaseAsFinal } from '../../train/overlap/gradient-stream.js';
import type { ParameterGateRef } from '../../train/overlap/parameter-gates.js';

export interface PoolExecutorOptions {
  readonly seed: number;
  readonly microBatch: number;
  readonly targetsAreInputs: boolean;
  readonly model: ModelRef['model'];
  readonly loss: ModelRef['loss'];
  /** Samples per evaluation/prediction task. */
  readonly evalBatch?: number;
}

let nextId = 1;

/**
 * Runs a model's micro-batches on pool threads. Note [thread-count independence]: a global range
 * is cut into micro-batches of a FIXED size (training.microBatch), micro-batch m always writes its
 * slots to buffer m (buffer 0 is the model's own slot buffer), and the buffers are summed in
 * order m = 0, 1, 2, … after all finish. Which thread ran which micro-batch, and when, cannot
 * change a bit of the result — 1, 2 or 8 threads give identical gradients.
 */
export class PoolExecutor implements GradientExecutor {
  readonly #network: Network;
  readonly #store: ParameterStore;
  readonly #backend: Backend;
  readonly #pool: ThreadPool;
  readonly #options: PoolExecutorOptions;
  readonly #model: ModelRef;
  readonly #microSlots: Tensor[] = [];
  #evalSlots: Tensor | undefined;
  #startsOf: { buckets: GradientStream['buckets']; starts: readonly number[] } | undefined;
  readonly #datasets = new WeakMap<Dataset, { id: number; descriptor: DatasetDescriptor }>();
  #indices = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  /** Backward progress of the current call's micro-batches (Note [gradients final]). */
  #progress = new Int32Array(new SharedArrayBuffer(4 * 16));

  constructor(network: Network, store: ParameterStore, backend: Backend, pool: ThreadPool, options: PoolExecutorOptions) {
    this.#network = network;
    this.#store = store;
    this.#backend = backend;
    this.#pool = pool;
    this.#options = options;
    this.#model = {
      id: nextId++,
      model: options.model,
      loss: options.loss,
      seed: options.seed,
      targetsAreInputs: options.targetsAreInputs,
      valuesPtr: store.values.data.byteOffset,
      parameterCount: store.values.size,
    };
  }

  readonly acceptsParameterGates = true;

  async computeGradients(data: Dataset, indices: ArrayLike<number>, start: number, end: number, step: number, firstMicro = 0, stream?: GradientStream, gate?: ParameterGateRef): Promise<BatchStats> {
    const ranges = microBatchRanges(start, end, this.#options.microBatch);
    const ref = this.#dataRef(data, indices, start, end);
    while (this.#microSlots.length < ranges.length - 1) this.#microSlots.push(this.#backend.allocPersistent([this.#store.slots.size]));
    const slotBuffers = [this.#store.slots, ...this.#microSlots];
    const cells = stream === undefined ? undefined : this.#progressCells(ranges.length);
    // The pool threads wake this thread only when a bucket start is reached (Note [wake only at bucket starts]).
    const bucketStarts = stream === undefined ? [] : this.#bucketStarts(stream);
    const tasks = Promise.all(
      ranges.map(([s, e], micro) =>
        this.#pool.run<BatchStats>({
          kind: 'train',
          model: this.#model,
          data: ref,
          start: s - start,
          end: e - start,
          step,
          micro: firstMicro + micro,
          slotsPtr: slotBuffers[micro]!.data.byteOffset,
          ...(cells === undefined ? {} : { progress: { cells, cell: micro, bucketStarts } }),
          ...(gate === undefined ? {} : { gate }),
        }),
      ),
    );
    // The micro-batch buffers summed into the model's slots in micro-batch order over [s, e): the whole buffer at
    // once, or bucket by bucket as buckets become final (the same float additions either way).
    const kernels = this.#backend.kernels;
    const slots = this.#store.slots.data;
    const sumMicroBatches = (s: number, e: number): void => {
      if (ranges.length < 2 || e === s) return;
      const sum = new Tensor([e - s], slots.subarray(s, e));
      for (let m = 1; m < ranges.length; m++) kernels.add(sum, new Tensor([e - s], slotBuffers[m]!.data.subarray(s, e)), sum);
    };
    const results = cells === undefined || stream === undefined ? await tasks : await releaseAsFinal(tasks, cells, ranges.length, stream, (b) => sumMicroBatches(b.start, b.end));
    if (cells === undefined) sumMicroBatches(0, slots.length);
    return results.reduce(addStats, emptyStats());
  }

  /** The buckets' starts in release order, one array per bucket list (the list is the replica's, made once). */
  #bucketStarts(stream: GradientStream): readonly number[] {
    if (this.#startsOf?.buckets !== stream.buckets) this.#startsOf = { buckets: stream.buckets, starts: stream.buckets.map((b) => b.start) };
    return this.#startsOf.starts;
  }

  /** The progress cells of the next call's micro-batches, reset to "nothing final" before any task starts. */
  #progressCells(micros: number): Int32Array {
    if (this.#progress.length < micros) this.#progress = new Int32Array(new SharedArrayBuffer(4 * Math.max(micros, 2 * this.#progress.length)));
    this.#progress.fill(this.#store.values.size, 0, micros);
    return this.#progress;
  }

  async evaluate(data: Dataset, indices: ArrayLike<number>, start: number, end: number): Promise<BatchStats> {
    const ref = this.#dataRef(data, indices, start, end);
    this.#evalSlots ??= this.#backend.allocPersistent([this.#store.slots.size]);
    const slotsPtr = this.#evalSlots.data.byteOffset;
    const results = await Promise.all(
      microBatchRanges(0, end - start, this.#evalBatch()).map(([s, e]) =>
        this.#pool.run<BatchStats>({ kind: 'evaluate', model: this.#model, data: ref, start: s, end: e, slotsPtr }),
      ),
    );
    return results.reduce(addStats, emptyStats());
  }

  async predict(data: Dataset, indices: ArrayLike<number>, start: number, end: number): Promise<Tensor> {
    const ref = this.#dataRef(data, indices, start, end);
    this.#evalSlots ??= this.#backend.allocPersistent([this.#store.slots.size]);
    const slotsPtr = this.#evalSlots.data.byteOffset;
    const outShape = this.#network.outputShape;
    const per = outShape.reduce((a, b) => a * b, 1);
    const output = new Float32Array(new SharedArrayBuffer((end - start) * per * 4));
    await Promise.all(
      microBatchRanges(0, end - start, this.#evalBatch()).map(([s, e]) =>
        this.#pool.run({ kind: 'predict', model: this.#model, data: ref, start: s, end: e, outStart: 0, output, slotsPtr }),
      ),
    );
    return new Tensor([end - start, ...outShape], output);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }

  #evalBatch(): number {
    return this.#options.evalBatch ?? Math.max(this.#options.microBatch, 128);
  }

  /** Shares the call's sample indices with the threads (copied into a SharedArrayBuffer, 4 bytes a sample). */
  #dataRef(data: Dataset, indices: ArrayLike<number>, start: number, end: number): DataRef {
    let known = this.#datasets.get(data);
    if (!known) {
      known = { id: nextId++, descriptor: data.toShared() };
      this.#datasets.set(data, known);
    }
    const n = end - start;
    // A fresh buffer whenever tasks of the previous call might still hold it is unnecessary:
    // calls are awaited one at a time, so reuse is safe; grow when too small.
    if (this.#indices.length < n) this.#indices = new Uint32Array(new SharedArrayBuffer(4 * Math.max(n, 2 * this.#indices.length)));
    for (let i = 0; i < n; i++) this.#indices[i] = indices[start + i]!;
    return { id: known.id, descriptor: known.descriptor, indices: this.#indices.subarray(0, n) };
  }
}
