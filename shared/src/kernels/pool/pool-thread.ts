/**
 * The code each pool thread runs (the file piscina loads into every thread). On start a thread
 * claims an index, builds a WebAssembly backend over the pool's ONE shared memory with its own
 * scratch range, and from then on serves tasks: a whole micro-batch (forward + backward) per task,
 * because a task round trip costs ≈ 25 µs and per-kernel dispatch would drown small layers in
 * overhead.
 */
import { workerData } from 'piscina';
import { Dataset } from '../../data/dataset.js';
import { fillBatch, fillInputs } from '../../data/batcher.js';
import { BackendError } from '../../errors.js';
import type { Batch, BatchStats, Network } from '../../model/network.js';
import { buildNetwork } from '../../model/build.js';
import { Random } from '../../random.js';
import { BackwardProgress } from '../../train/overlap/backward-progress.js';
import { waitForParameters } from '../../train/overlap/parameter-gates.js';
import { Tensor } from '../../tensor/tensor.js';
import { Arena } from '../wasm/arena.js';
import { createWasmBackend } from '../wasm/backend.js';
import { createNativeBackend } from '../native/backend.js';
import { matMulRows as nativeMatMulRows } from '../native/linear.js';
import { currentBuffer } from '../wasm/memory.js';
import { matMulRows } from '../wasm/linear.js';
import type { DataRef, ModelRef, PoolTask, PoolThreadData } from './tasks.js';

const shared = workerData as PoolThreadData;
const index = Atomics.add(shared.threadCounter, 0, 1);
const range = shared.threadScratch[index];
if (!range) {
  throw new BackendError(`pool thread ${index} has no scratch range (the pool has ${shared.threadScratch.length})`, {
    hint: 'a pool thread was restarted after a crash; recreate the pool',
  });
}
const memory = shared.memory;
const arenas = {
  memory,
  persistent: new Arena(memory, shared.persistent[0], shared.persistent[1], 'persistent (read by threads)'),
  scratch: new Arena(memory, range[0], range[1], `scratch of pool thread ${index}`),
};
const backend = shared.kernels === 'native' ? createNativeBackend(arenas) : createWasmBackend(arenas);

const networks = new Map<number, Network>();
const datasets = new Map<number, Dataset>();

function networkFor(ref: ModelRef, slotsPtr: number): Network {
  let network = networks.get(ref.id);
  if (!network) {
    network = buildNetwork(ref.model, ref.loss, { path: '' });
    networks.set(ref.id, network);
  }
  const buffer = currentBuffer(memory);
  network.bind(new Float32Array(buffer, ref.valuesPtr, ref.parameterCount), new Float32Array(buffer, slotsPtr, ref.parameterCount));
  return network;
}

function datasetFor(ref: DataRef): Dataset {
  let data = datasets.get(ref.id);
  if (!data) {
    data = Dataset.fromShared(ref.descriptor);
    datasets.set(ref.id, data);
  }
  return data;
}

function batchFor(network: Network, model: ModelRef, data: DataRef, start: number, end: number): Batch {
  const dataset = datasetFor(data);
  if (!model.targetsAreInputs) return fillBatch(dataset, data.indices, start, end, backend, network.inputShape);
  const x = fillInputs(dataset, data.indices, start, end, backend, network.inputShape);
  return { x, y: x, count: end - start };
}

export default function runTask(task: PoolTask): BatchStats | null {
  try {
    switch (task.kind) {
      case 'train': {
        const network = networkFor(task.model, task.slotsPtr);
        const batch = batchFor(network, task.model, task.data, task.start, task.end);
        const rng = Random.derive(task.model.seed, task.step, task.micro);
        const gate = task.gate;
        // The time spent at the gates is not compute: the step's compute time leaves it out (replica.ts).
        let waited = 0;
        const beforeLayer =
          gate === undefined
            ? undefined
            : (start: number, end: number) => {
                const t = performance.now();
                waitForParameters(gate, start, end);
                waited += performance.now() - t;
              };
        const withWait = (stats: BatchStats): BatchStats => (gate === undefined ? stats : { ...stats, gateWaitMs: waited });
        if (task.progress === undefined) return withWait(network.trainBatch(batch, { backend, training: true, rng, ...(beforeLayer === undefined ? {} : { beforeLayer }) }));
        const progress = new BackwardProgress(task.progress.cells, task.progress.cell, task.model.parameterCount, task.progress.bucketStarts);
        const stats = network.trainBatch(batch, { backend, training: true, rng, onSlotsFinal: (start, end) => progress.done(start, end), ...(beforeLayer === undefined ? {} : { beforeLayer }) });
        progress.finish();
        return withWait(stats);
      }
      case 'evaluate': {
        const network = networkFor(task.model, task.slotsPtr);
        const batch = batchFor(network, task.model, task.data, task.start, task.end);
        return network.evaluateBatch(batch, { backend, training: false, rng: Random.derive(task.model.seed, 0x7fffffff, task.start) });
      }
      case 'predict': {
        const network = networkFor(task.model, task.slotsPtr);
        const x = fillInputs(datasetFor(task.data), task.data.indices, task.start, task.end, backend, network.inputShape);
        const y = network.predict(x, { backend, training: false, rng: Random.derive(task.model.seed, 0x7ffffffe, task.start) });
        task.output.set(y.data, (task.start - task.outStart) * (y.size / (task.end - task.start)));
        return null;
      }
      case 'matMul': {
        const buffer = currentBuffer(memory);
        const view = (t: { ptr: number; shape: [number, number] }) => new Tensor(t.shape, new Float32Array(buffer, t.ptr, t.shape[0] * t.shape[1]));
        const rows = shared.kernels === 'native' ? nativeMatMulRows : matMulRows;
        rows(view(task.a), view(task.b), view(task.out), task.options, task.rowStart, task.rowEnd);
        return null;
      }
    }
  } finally {
    backend.releaseScratch();
  }
}
