import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Json, JsonObject, ValidationScope } from './validate.js';
import {
  child,
  isObject,
  oneOf,
  optionalBoolean,
  optionalNumber,
  optionalString,
  rejectUnknownKeys,
  requireObject,
} from './validate.js';

/**
 * The run configuration: one JSON file describes data, model, loss, optimizer and training.
 * It is validated once, here, and then passed verbatim (as JSON) to every process of a run.
 * `model`, `loss`, `optimizer`, `schedule` and `dataset` are validated by their own builders
 * (they know their options); this file checks the top level and `training`.
 */
export interface EarlyStoppingConfig {
  readonly monitor: 'valLoss' | 'valAccuracy';
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
}

export interface TrainingConfig {
  readonly epochs: number;
  readonly batchSize: number;
  /** Fraction of the training set held out for validation (Keras: the last samples, before shuffling). */
  readonly validationSplit: number;
  /** Drop the last, short batch of an epoch (otherwise it is used, weighted by its size). */
  readonly dropLast: boolean;
  readonly clipNorm: number | undefined;
  readonly clipValue: number | undefined;
  readonly earlyStopping: EarlyStoppingConfig | undefined;
  /** Also checkpoint every N steps (checkpoints are always written at the end of each epoch). */
  readonly checkpointEverySteps: number | undefined;
  /** Samples per micro-batch on every backend: the fixed split that keeps results independent of the thread count (BatchNorm statistics and dropout streams are per micro-batch). */
  readonly microBatch: number;
}

export interface BackendConfig {
  readonly type: 'reference' | 'pool';
  /** Pool threads; undefined = os.availableParallelism() or GRADMESH_THREADS. */
  readonly threads: number | undefined;
}

export interface RunConfig {
  readonly name: string;
  readonly seed: number;
  readonly dataset: Json;
  readonly model: Json;
  readonly loss: Json | undefined;
  readonly optimizer: Json;
  readonly schedule: Json | undefined;
  readonly training: TrainingConfig;
  readonly backend: BackendConfig;
  /** Directory of the config file: relative data paths resolve against it. */
  readonly baseDir: string;
  /** Path of the config file, for error messages ('(inline)' when built in code). */
  readonly file: string;
  /** The JSON as written, for reports, checkpoints and sending to other processes. */
  readonly raw: JsonObject;
}

const TOP_LEVEL_KEYS = ['name', 'seed', 'dataset', 'model', 'loss', 'optimizer', 'schedule', 'training', 'backend', 'description'];
const TRAINING_KEYS = ['epochs', 'batchSize', 'validationSplit', 'dropLast', 'clipNorm', 'clipValue', 'earlyStopping', 'checkpointEverySteps', 'microBatch'];

export function loadRunConfig(file: string): RunConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError('--config', code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(cause)})`, { value: file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError('(root)', `is not valid JSON: ${(cause as Error).message}`, { file });
  }
  return parseRunConfig(json, { file, baseDir: path.dirname(path.resolve(file)) });
}

export function parseRunConfig(json: unknown, where: { file?: string; baseDir?: string } = {}): RunConfig {
  const file = where.file ?? '(inline)';
  const scope: ValidationScope = where.file === undefined ? { path: '' } : { path: '', file };
  const raw = requireObject(json, scope, 'a JSON object');
  rejectUnknownKeys(raw, TOP_LEVEL_KEYS, scope);
  for (const key of ['dataset', 'model', 'optimizer']) {
    if (!(key in raw)) throw new ConfigError(key, 'is required', where.file === undefined ? {} : { file });
  }
  const training = parseTraining(raw['training'], child(scope, 'training'));
  return {
    name: optionalString(raw, 'name', scope, 'run'),
    seed: optionalNumber(raw, 'seed', scope, 42, { integer: true, min: 0, max: 2 ** 32 - 1 }),
    dataset: raw['dataset'] as Json,
    model: raw['model'] as Json,
    loss: raw['loss'],
    optimizer: raw['optimizer'] as Json,
    schedule: raw['schedule'],
    training,
    backend: parseBackend(raw['backend'], child(scope, 'backend')),
    baseDir: where.baseDir ?? process.cwd(),
    file,
    raw,
  };
}

function parseTraining(json: Json | undefined, scope: ValidationScope): TrainingConfig {
  const t = json === undefined ? {} : requireObject(json, scope);
  rejectUnknownKeys(t, TRAINING_KEYS, scope);
  const clipNorm = t['clipNorm'] === undefined ? undefined : optionalNumber(t, 'clipNorm', scope, 0, { above: 0 });
  const clipValue = t['clipValue'] === undefined ? undefined : optionalNumber(t, 'clipValue', scope, 0, { above: 0 });
  const every = t['checkpointEverySteps'] === undefined ? undefined : optionalNumber(t, 'checkpointEverySteps', scope, 0, { integer: true, min: 1 });
  return {
    epochs: optionalNumber(t, 'epochs', scope, 5, { integer: true, min: 1 }),
    batchSize: optionalNumber(t, 'batchSize', scope, 64, { integer: true, min: 1 }),
    validationSplit: optionalNumber(t, 'validationSplit', scope, 0, { min: 0, max: 0.9 }),
    dropLast: optionalBoolean(t, 'dropLast', scope, false),
    clipNorm,
    clipValue,
    earlyStopping: parseEarlyStopping(t['earlyStopping'], child(scope, 'earlyStopping')),
    checkpointEverySteps: every,
    microBatch: optionalNumber(t, 'microBatch', scope, 32, { integer: true, min: 1 }),
  };
}

function parseEarlyStopping(json: Json | undefined, scope: ValidationScope): EarlyStoppingConfig | undefined {
  if (json === undefined || json === false) return undefined;
  const e = json === true ? {} : requireObject(json, scope);
  rejectUnknownKeys(e, ['monitor', 'patience', 'minDelta', 'restoreBestWeights'], scope);
  return {
    monitor: oneOf(e, 'monitor', scope, ['valLoss', 'valAccuracy'] as const, 'valLoss'),
    patience: optionalNumber(e, 'patience', scope, 2, { integer: true, min: 0 }),
    minDelta: optionalNumber(e, 'minDelta', scope, 0, { min: 0 }),
    restoreBestWeights: optionalBoolean(e, 'restoreBestWeights', scope, true),
  };
}

function parseBackend(json: Json | undefined, scope: ValidationScope): BackendConfig {
  if (json === undefined) return { type: 'pool', threads: undefined };
  const b: JsonObject = typeof json === 'string' ? { type: json } : requireObject(json, scope);
  if (!isObject(b)) throw new ConfigError(scope.path, 'must be "reference", "pool" or an object');
  rejectUnknownKeys(b, ['type', 'threads'], scope);
  return {
    type: oneOf(b, 'type', scope, ['reference', 'pool'] as const, 'pool'),
    threads: b['threads'] === undefined ? undefined : optionalNumber(b, 'threads', scope, 1, { integer: true, min: 1, max: 256 }),
  };
}
