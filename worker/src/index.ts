/** The cluster worker: the all-reduce, the replica and the worker process loop; control-plane helpers the coordinator shares. */
export type { AllReduce, AllReduceTimings } from './allreduce/allreduce.js';
export { RsagAllReduce } from './allreduce/rsag.js';
export type { RsagOptions } from './allreduce/rsag.js';
export { runAllreduceBench } from './bench/allreduce-bench.js';
export type { AllreduceBenchResult } from './bench/allreduce-bench.js';
export { startLocalNatsServer } from './bench/local-nats-server.js';
export type { LocalNatsServer } from './bench/local-nats-server.js';
export { ControlChannel } from './control/channel.js';
export type { ControlHandler, GenerationFilter } from './control/channel.js';
export { Liveness, every, watchSilence } from './control/liveness.js';
export { connectNats, watchConnection } from './transport/connection.js';
export { stepShard } from './shard.js';
export type { StepShard } from './shard.js';
export { Replica } from './replica.js';
export type { ReplicaOptions } from './replica.js';
export { runWorker, WorkerProcess } from './worker.js';
export type { WorkerOptions, WorkerOutcome } from './worker.js';
