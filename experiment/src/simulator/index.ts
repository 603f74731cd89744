/** The step-time simulator: message pattern, step model, calibration from measurements, projections. */
export { messagePattern, defaultPieceBytes, windowFor, largestPieceFor, WIRE_BYTES_PER_PAYLOAD_BYTE } from './message-pattern.js';
export type { MessagePattern, HostLink, Traffic } from './message-pattern.js';
export { simulateStep, efficiency, contention, controlHops, computeSeconds, allreduce, waitSeconds, linkSeconds, allreduceCpuSeconds } from './step-model.js';
export type { CostParams, CpuPlacement, Scenario, StepPrediction, Bound } from './step-model.js';
export { calibrate, measuredOverlap, PRIOR_COSTS, scenarioOfRun, sharedCores } from './calibrate.js';
export type { Calibration, RunFit } from './calibrate.js';
export { project, validate, linkLabel } from './predictions.js';
export type { Prediction, ValidationRow, Projection } from './predictions.js';
export { readScalingResults } from './read-results.js';
export { parseWorkers, parseTopologies, parseLinks, parseNumberIn } from './flags.js';
export { predictionsFile, predictionsMarkdown, projectionTable, validationTable, targetLine } from './report.js';
export type { PredictionsFile } from './report.js';
