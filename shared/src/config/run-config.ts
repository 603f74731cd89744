import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { z } from 'zod';
import { backendSpec, runConfigSpec, trainingSpec } from './run-config-schema.js';
import { parseWithSchema } from './schema-errors.js';
import { checkTask, type Task } from './task.js';
import type { Json, JsonObject, ValidationScope } from './validate.js';

/**
 * The run configuration: one JSON file describes data, model, loss, optimizer and training.
 * It is validated once, here, against `runConfigSpec` (run-config-schema.ts), and then passed
 * verbatim (as JSON) to every process of a run. The types below are derived from that schema.
 */
export type EarlyStoppingConfig = Readonly<NonNullable<z.output<typeof trainingSpec>['earlyStopping']>>;
export type TrainingConfig = Readonly<z.output<typeof trainingSpec>>;
export { ALLREDUCE_TRANSPORTS, DEFAULT_ALLREDUCE_TRANSPORT, type AllreduceTransport } from './run-config-schema.js';
export type BackendConfig = Readonly<z.output<typeof backendSpec>>;

type ParsedRunConfig = z.output<typeof runConfigSpec>;

export interface RunConfig {
  readonly name: ParsedRunConfig['name'];
  readonly seed: ParsedRunConfig['seed'];
  /** classification (the default) or regression: how the label column is read and what the report measures. */
  readonly task: Task;
  /**
   * `dataset`, `model`, `loss`, `optimizer` and `schedule` as written (validated): their builders
   * (datasetFromConfig, buildNetwork, optimizerFromSpec, scheduleFromSpec) read them in every process.
   */
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
  const parsed = parseWithSchema(runConfigSpec, json, scope);
  const raw = json as JsonObject;
  checkTask(parsed.task, { dataset: raw['dataset'] as Json, model: raw['model'] as Json, loss: raw['loss'] }, where.file);
  return {
    name: parsed.name,
    seed: parsed.seed,
    task: parsed.task,
    dataset: raw['dataset'] as Json,
    model: raw['model'] as Json,
    loss: raw['loss'],
    optimizer: raw['optimizer'] as Json,
    schedule: raw['schedule'],
    training: parsed.training,
    backend: parsed.backend,
    baseDir: where.baseDir ?? process.cwd(),
    file,
    raw,
  };
}
