/** The coordinator: the run owner (membership, step barrier, decisions). */
export { Coordinator } from './coordinator.js';
export { RunInterrupted } from './run-interrupted.js';
export type { InterruptedAt } from './run-interrupted.js';
export type { ClusterRun, CoordinatorOptions } from './coordinator.js';
export { assignRanks, Roster } from './membership.js';
export type { Generation, JoinedWorker, Member } from './membership.js';
export { compareChecksums, divergenceError } from './checksums.js';
export type { ChecksumComparison, ChecksumReport } from './checksums.js';
export { mergeEvaluations, sumStepStats } from './aggregate.js';
export { ClusterStepDriver } from './cluster-step-driver.js';
export type { ClusterStepDriverOptions } from './cluster-step-driver.js';
export { StepBarrier } from './step-barrier.js';
export { StepTimings } from './timings.js';
