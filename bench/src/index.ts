/** The benchmarks behind `gradmesh bench backend`, `gradmesh bench memory` and `gradmesh bench allreduce`. */
export { runBackendBenchmark } from './backend/backend-bench.js';
export type { BackendBenchOptions } from './backend/backend-bench.js';
export { runMemoryCheck, leastSquaresSlope, memoryGrows } from './backend/memory-check.js';
export type { MemoryCheck, MemoryCheckOptions, MemorySample } from './backend/memory-check.js';
export { computeRatios, checkTargets, TARGETS, WORKLOADS, CONTENDERS } from './backend/report.js';
export type { BackendBenchReport, Cell, Contender, Ratios, Workload, MachineInfo } from './backend/report.js';
export { formatBenchTable, formatMemoryCheck, formatMemorySample, formatRate } from './backend/table.js';
export { probeCpuLoad } from './backend/cpu-load.js';
export type { CpuLoad } from './backend/cpu-load.js';
export { measureThroughput, mergeThroughputs, summarize } from './backend/timing.js';
export type { Budget, Throughput } from './backend/timing.js';
export { runAllreduceBench, ceilingRatio, minimumRanksCpuMs } from './allreduce/allreduce-bench.js';
export type { AllreduceBenchResult, AllreduceBenchRow, AllreduceLatencyRow } from './allreduce/allreduce-bench.js';
export { runClusterBench, samplesPerSecond } from './cluster/cluster-bench.js';
export type { ClusterBenchOptions, ClusterBenchResult } from './cluster/cluster-bench.js';
