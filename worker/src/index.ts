/** The cluster worker: the all-reduce, the replica and the worker process loop. */
export type { AllReduce, AllReduceTimings } from './allreduce/allreduce.js';
export { RsagAllReduce } from './allreduce/rsag.js';
export type { RsagOptions } from './allreduce/rsag.js';
export { DirectPieceTransport } from './allreduce/direct-piece-transport.js';
export type { DirectPieceTransportOptions } from './allreduce/direct-piece-transport.js';
export { describePeerPaths, overSharedMemory, SharedMemoryPieceTransport, slotCountFor, SLOT_BYTES } from './allreduce/shared-memory-piece-transport.js';
export type { LinkTransport, PeerPath, SharedMemoryPieceTransportOptions } from './allreduce/shared-memory-piece-transport.js';
export type { PieceSink, PieceTransport } from './allreduce/piece-transport.js';
export { rankOrderSumKernels, rankOrderSumStatus } from './allreduce/native-rank-order-sum.js';
export type { RankOrderSum, RankOrderSumStatus } from './allreduce/native-rank-order-sum.js';
export { stepShard } from './shard.js';
export type { StepShard } from './shard.js';
export { Replica } from './replica.js';
export type { ReplicaOptions } from './replica.js';
export { runWorker, WorkerProcess } from './worker.js';
export type { WorkerOptions, WorkerOutcome } from './worker.js';
