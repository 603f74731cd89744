/** The coordinator: the run owner (membership, step barrier, decisions). */
export { Coordinator } from './coordinator.js';
export type { ClusterRun, CoordinatorOptions } from './coordinator.js';
export { assignRanks, Roster } from './membership.js';
export type { Generation, JoinedWorker, Member } from './membership.js';
export { compareChecksums, divergenceError } from './checksums.js';
export type { ChecksumComparison, ChecksumReport } from './checksums.js';
export { mergeEvaluations, sumStepStats } from './aggregate.js';
export { planEpoch } from './step-plan.js';
export type { PlannedStep, PlanOptions } from './step-plan.js';
export { StepBarrier } from './step-barrier.js';
export { StepTimings } from './timings.js';
export { TrainingState } from './training-state.js';
