import type { CpuLoad } from './cpu-load.js';
import type { MemoryCheck } from './memory-check.js';
import type { FallbackCheck, FallbackRegistration } from './tfjs/conv2d-backprop-filter.js';
import type { Throughput } from './timing.js';

/** What `gradmesh bench backend --json` writes; `ratios` is the part other tools read. */

export const WORKLOADS = ['gemm', 'mlpBatch64', 'mlpBatch256', 'cnnBatch64', 'lstmBatch64'] as const;
export type Workload = (typeof WORKLOADS)[number];

export const CONTENDERS = ['gradmesh-pool-1', 'gradmesh-native-1', 'gradmesh-pool-all', 'gradmesh-native-all', 'gradmesh-reference', 'tfjs-wasm', 'tfjs-cpu'] as const;
export type Contender = (typeof CONTENDERS)[number];

export interface Cell {
  readonly workload: Workload;
  readonly contender: Contender;
  readonly unit: 'GFLOP/s' | 'samples/s';
  /** Absent when the cell was skipped (see `note`). */
  readonly result: Throughput | null;
  readonly note: string | null;
}

export interface Ratios {
  /** gradmesh pool with all threads ÷ tfjs-wasm, same workload, same run (null if either is missing). */
  readonly gemm: number | null;
  readonly mlpBatch64: number | null;
  readonly mlpBatch256: number | null;
  readonly cnnBatch64: number | null;
  readonly lstmBatch64: number | null;
  /** gradmesh pool all threads ÷ pool one thread on the CNN. */
  readonly cnnThreadScaling: number | null;
  /** gradmesh native ÷ pool, one thread each, GEMM. */
  readonly nativeGemm: number | null;
  /** gradmesh native ÷ pool, all threads each: MLP batch 64, CNN, and (no target) MLP batch 256 and LSTM. */
  readonly nativeMlp: number | null;
  readonly nativeCnn: number | null;
  readonly nativeMlpBatch256: number | null;
  readonly nativeLstm: number | null;
}

/** Whether the native backend ran, and with which OpenBLAS kernels (or why not). */
export type NativeStatus =
  | { readonly available: true; readonly coreName: string; readonly coreTypeSet: string | null; readonly selfCheckError: number; /** e.g. "OpenBLAS 0.3.21" */ readonly openblas: string }
  | { readonly available: false; readonly reason: string };

/** The targets, each with the ratio it applies to. */
export const TARGETS: readonly { readonly ratio: keyof Ratios; readonly atLeast: number }[] = [
  { ratio: 'gemm', atLeast: 1.5 },
  { ratio: 'mlpBatch64', atLeast: 3 },
  { ratio: 'mlpBatch256', atLeast: 3 },
  { ratio: 'cnnBatch64', atLeast: 5 },
  { ratio: 'cnnThreadScaling', atLeast: 1.7 },
  { ratio: 'nativeGemm', atLeast: 2.5 },
  { ratio: 'nativeMlp', atLeast: 1.5 },
  { ratio: 'nativeCnn', atLeast: 2 },
];

export interface MachineInfo {
  readonly cpuModel: string;
  readonly availableParallelism: number;
  readonly totalMemoryBytes: number;
  readonly node: string;
  readonly platform: string;
}

export interface BackendBenchReport {
  readonly kind: 'gradmesh.bench.backend/1';
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly quick: boolean;
  /** Mirrored passes over the contenders whose runs each cell pools (Note [mirrored passes] in backend-bench.ts). */
  readonly passes: number;
  readonly machine: MachineInfo;
  /** "All threads" of the pool in this run. */
  readonly threads: number;
  readonly tfjs: { readonly version: string; readonly wasmSimd: boolean; readonly wasmThreads: number };
  readonly conv2dBackpropFilter: FallbackRegistration & { readonly check: FallbackCheck };
  readonly native: NativeStatus;
  /** Machine load from the busy-loop probe (parallelCapacity ≈ 2 quiet, ≈ 1 contended). */
  readonly cpuLoad: { readonly before: CpuLoad; readonly after: CpuLoad };
  /** process.resourceUsage().maxRSS (peak resident set) at the start and the end, in bytes. */
  readonly rss: { readonly peakBeforeBytes: number; readonly peakAfterBytes: number; readonly currentAfterBytes: number };
  readonly results: readonly Cell[];
  readonly ratios: Ratios;
  readonly targets: readonly { readonly ratio: keyof Ratios; readonly atLeast: number; readonly value: number | null; readonly met: boolean | null }[];
  readonly memory: MemoryCheck | null;
}

export function median(cells: readonly Cell[], workload: Workload, contender: Contender): number | null {
  return cells.find((c) => c.workload === workload && c.contender === contender)?.result?.median ?? null;
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

export function computeRatios(cells: readonly Cell[]): Ratios {
  const vsWasm = (w: Workload) => ratio(median(cells, w, 'gradmesh-pool-all'), median(cells, w, 'tfjs-wasm'));
  const nativeVsPool = (w: Workload) => ratio(median(cells, w, 'gradmesh-native-all'), median(cells, w, 'gradmesh-pool-all'));
  return {
    gemm: vsWasm('gemm'),
    mlpBatch64: vsWasm('mlpBatch64'),
    mlpBatch256: vsWasm('mlpBatch256'),
    cnnBatch64: vsWasm('cnnBatch64'),
    lstmBatch64: vsWasm('lstmBatch64'),
    cnnThreadScaling: ratio(median(cells, 'cnnBatch64', 'gradmesh-pool-all'), median(cells, 'cnnBatch64', 'gradmesh-pool-1')),
    nativeGemm: ratio(median(cells, 'gemm', 'gradmesh-native-1'), median(cells, 'gemm', 'gradmesh-pool-1')),
    nativeMlp: nativeVsPool('mlpBatch64'),
    nativeCnn: nativeVsPool('cnnBatch64'),
    nativeMlpBatch256: nativeVsPool('mlpBatch256'),
    nativeLstm: nativeVsPool('lstmBatch64'),
  };
}

export function checkTargets(ratios: Ratios): BackendBenchReport['targets'] {
  return TARGETS.map(({ ratio: name, atLeast }) => {
    const value = ratios[name];
    return { ratio: name, atLeast, value, met: value === null ? null : value >= atLeast };
  });
}
