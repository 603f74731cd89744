import type { Json } from '../../config/validate.js';
import type { DatasetDescriptor } from '../../data/dataset.js';
import type { MatMulOptions } from '../signatures/linear.js';
import type { ParameterGateRef } from '../../train/overlap/parameter-gates.js';

/** What a pool thread needs to build a model once and find its parameters in shared memory. */
export interface ModelRef {
  /** Cache key: a thread builds each model once. */
  readonly id: number;
  readonly model: Json;
  readonly loss: Json | undefined;
  readonly seed: number;
  readonly targetsAreInputs: boolean;
  /** Byte address and float count of the parameter values in the shared memory. */
  readonly valuesPtr: number;
  readonly parameterCount: number;
}

export interface DataRef {
  /** Cache key: a thread rebuilds each dataset view once (no pixels are copied). */
  readonly id: number;
  readonly descriptor: DatasetDescriptor;
  /** Sample indices of this call; the task reads indices[start, end). */
  readonly indices: Uint32Array;
}

/** Forward + backward of one micro-batch; writes the update slots at slotsPtr. */
export interface TrainTask {
  readonly kind: 'train';
  readonly model: ModelRef;
  readonly data: DataRef;
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly micro: number;
  readonly slotsPtr: number;
  /** When the main thread overlaps the all-reduce with backward: cell `cell` of `cells` tracks this micro-batch's final slots (Note [gradients final]). */
  readonly progress?: { readonly cells: Int32Array; readonly cell: number; readonly bucketStarts?: readonly number[] };
  /** Handed out before the parameters were final: each layer waits for its gate (Note [parameters final]). */
  readonly gate?: ParameterGateRef;
}

/** Loss/metric sums in inference mode. */
export interface EvaluateTask {
  readonly kind: 'evaluate';
  readonly model: ModelRef;
  readonly data: DataRef;
  readonly start: number;
  readonly end: number;
  /** Scratch slots the network is bound to (never written in inference). */
  readonly slotsPtr: number;
}

/** Model outputs written into `output` (a SharedArrayBuffer-backed array) at row offset `start - outStart`. */
export interface PredictTask {
  readonly kind: 'predict';
  readonly model: ModelRef;
  readonly data: DataRef;
  readonly start: number;
  readonly end: number;
  readonly outStart: number;
  readonly output: Float32Array;
  readonly slotsPtr: number;
}

/** Rows [rowStart, rowEnd) of a GEMM whose operands live in the shared memory. */
export interface MatMulTask {
  readonly kind: 'matMul';
  readonly a: { ptr: number; shape: [number, number] };
  readonly b: { ptr: number; shape: [number, number] };
  readonly out: { ptr: number; shape: [number, number] };
  readonly options: MatMulOptions;
  readonly rowStart: number;
  readonly rowEnd: number;
}

export type PoolTask = TrainTask | EvaluateTask | PredictTask | MatMulTask;

/** Which kernels the pool threads run: WebAssembly SIMD throughout, or OpenBLAS GEMMs with WebAssembly for the rest. */
export type PoolKernels = 'wasm' | 'native';

export interface PoolThreadData {
  readonly memory: WebAssembly.Memory;
  readonly kernels: PoolKernels;
  /** Int32Array over a SharedArrayBuffer: [0] = next thread index to claim. */
  readonly threadCounter: Int32Array;
  readonly persistent: readonly [number, number];
  readonly threadScratch: readonly (readonly [number, number])[];
}
