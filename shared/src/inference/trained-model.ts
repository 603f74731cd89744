import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readCheckpoint, latestCheckpoint } from '../checkpoint/store.js';
import { parseRunConfig, type RunConfig } from '../config/run-config.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { createModel, type CreateModelOptions } from '../train/create-model.js';
import type { Model } from '../train/model.js';

/** A model rebuilt from a checkpoint: the file it came from, and the config stored inside it. */
export interface TrainedModel {
  readonly model: Model;
  readonly file: string;
  readonly config: RunConfig;
}

/**
 * The checkpoint file `target` names: the file itself, or the newest checkpoint of a directory
 * (the one `--resume` would pick).
 */
export async function resolveCheckpointFile(target: string): Promise<string> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(target)).isDirectory();
  } catch {
    throw new ConfigError('--checkpoint', 'no such file or directory', { value: target, hint: 'give a ckpt-<step>.safetensors file or the --checkpoint-dir of a run' });
  }
  if (!isDirectory) return target;
  const newest = await latestCheckpoint(target);
  if (!newest) throw new CheckpointError(target, 'holds no checkpoint (ckpt-<step>.safetensors)', { hint: 'train with --checkpoint-dir first' });
  return newest.path;
}

/**
 * Rebuilds the model a checkpoint was trained as — from the run config stored in its metadata, so
 * no config file is needed — and restores its parameters. The caller closes `model`.
 */
export async function loadTrainedModel(target: string, options: CreateModelOptions = {}): Promise<TrainedModel> {
  const file = await resolveCheckpointFile(target);
  const contents = await readCheckpoint(file);
  const raw = contents.meta['config'];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(file, 'has no run config in its metadata (meta.config)', { hint: 'it is not a gradmesh training checkpoint' });
  }
  // The config's data paths were relative to a config file we no longer have; the model needs none of them.
  const config = parseRunConfig(raw, { file: `${file} (meta.config)`, baseDir: path.dirname(path.resolve(file)) });
  const model = await createModel(config, options);
  try {
    await model.restore({ where: file, contents });
  } catch (error) {
    await model.close();
    throw error;
  }
  return { model, file, config };
}
