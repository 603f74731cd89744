/** The cluster worker: the all-reduce and (later) the step loop. */
export type { AllReduce, AllReduceTimings } from './allreduce/allreduce.js';
export { RsagAllReduce } from './allreduce/rsag.js';
export type { RsagOptions } from './allreduce/rsag.js';
export { runAllreduceBench } from './bench/allreduce-bench.js';
export type { AllreduceBenchResult } from './bench/allreduce-bench.js';
