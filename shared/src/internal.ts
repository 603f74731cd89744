/**
 * Everything the gradmesh packages share with each other (worker, coordinator, CLI, tests).
 * Users should import from the package root (index.ts), whose surface is smaller and stable.
 */
export * from './errors.js';
export * from './random.js';
export * from './tensor/tensor.js';
export type { Kernels, KernelName } from './kernels/kernels.js';
export type { Backend } from './kernels/backend.js';
export { registerKernels, resolveKernels, ownKernels, registeredBackends } from './kernels/registry.js';
export { createReferenceBackend } from './kernels/reference/backend.js';
export * from './config/validate.js';
export * from './config/run-config.js';
export type { Layer, ParamSpec, ForwardContext } from './layers/layer.js';
export type { Network, Batch, BatchStats } from './model/network.js';
export { buildNetwork, modelKind, MODEL_KINDS } from './model/build.js';
export { ParameterStore } from './model/parameters.js';
export { summarize } from './model/summary.js';
export { Dataset } from './data/dataset.js';
export type { DatasetDescriptor, DatasetPair } from './data/dataset.js';
export { datasetFromConfig } from './data/source.js';
export { loadMnist } from './data/mnist.js';
export { epochPermutation, batchesPerEpoch, globalBatchRange, shardRange, microBatchRanges } from './data/sampler.js';
export { fillBatch, fillInputs } from './data/batcher.js';
export type { Optimizer } from './optimizers/optimizer.js';
export { optimizerFromSpec, optimizerLearningRate } from './optimizers/registry.js';
export { learningRateAt, scheduleFromSpec } from './schedules/schedule.js';
export type { Schedule } from './schedules/schedule.js';
export { ConfusionMatrix } from './train/metrics.js';
export { Model } from './train/model.js';
export type { Evaluation, FitOptions, ModelOptions } from './train/model.js';
export { createModel, resolveThreads } from './train/create-model.js';
export type { CreateModelOptions } from './train/create-model.js';
export { LocalExecutor } from './train/local-executor.js';
export type { GradientExecutor } from './train/executor.js';
export { addStats, emptyStats } from './train/executor.js';
export { applyUpdate } from './train/update.js';
export type { UpdateOptions, UpdateResult } from './train/update.js';
export type { EpochRecord, ProgressEvent } from './train/history.js';
export { historyForReport, writeJsonAtomic } from './train/report.js';
export type { RunReport } from './train/report.js';
export { encodeCheckpoint, decodeCheckpoint } from './checkpoint/format.js';
export type { CheckpointContents } from './checkpoint/format.js';
export { writeCheckpointAtomic, readCheckpoint, latestCheckpoint, listCheckpoints, checkpointFileName } from './checkpoint/store.js';
