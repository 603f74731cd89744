/** The benchmarks behind `gradmesh bench backend` and `gradmesh bench memory`. */
export { runBackendBenchmark } from './backend-bench.js';
export type { BackendBenchOptions } from './backend-bench.js';
export { runMemoryCheck, leastSquaresSlope } from './memory-check.js';
export type { MemoryCheck, MemoryCheckOptions, MemorySample } from './memory-check.js';
export { computeRatios, checkTargets, TARGETS, WORKLOADS, CONTENDERS } from './report.js';
export type { BackendBenchReport, Cell, Contender, Ratios, Workload, MachineInfo } from './report.js';
export { formatBenchTable, formatMemoryCheck, formatMemorySample, formatRate } from './table.js';
export { probeCpuLoad } from './cpu-load.js';
export type { CpuLoad } from './cpu-load.js';
export { measureThroughput, mergeThroughputs, summarize } from './timing.js';
export type { Budget, Throughput } from './timing.js';
