/**
 * gradmesh's public surface: describe a model as JSON, train it, evaluate it, checkpoint it.
 *
 *   const config = loadRunConfig('examples/mnist-cnn.json');
 *   const { train, test } = datasetFromConfig(config.dataset, { path: 'dataset' }, config.baseDir);
 *   const model = await createModel(config);
 *   await model.fit(train);
 *   console.log(await model.evaluate(test));
 */
export { GradmeshError, ConfigError, ShapeError, DivergenceError, PreflightError, DataError, CheckpointError, ProtocolError, ClusterError, InternalError, BackendError } from './errors.js';
export type { ErrorCode, ErrorContext } from './errors.js';
export { Random } from './random.js';
export { Tensor } from './tensor/tensor.js';
export type { Shape } from './tensor/tensor.js';
export { loadRunConfig, parseRunConfig } from './config/run-config.js';
export type { RunConfig, TrainingConfig } from './config/run-config.js';
export { Dataset } from './data/dataset.js';
export { datasetFromConfig } from './data/source.js';
export { loadMnist } from './data/mnist.js';
export { Model } from './train/model.js';
export type { Evaluation, FitOptions, FitResult } from './train/model.js';
export type { TrainingState } from './train/training-state.js';
export { createModel } from './train/create-model.js';
export type { EpochRecord, ProgressEvent } from './train/history.js';
export type { RunReport } from './train/report.js';
export { ConfusionMatrix } from './train/metrics.js';
