import path from 'node:path';
import { DirectoryCheckpointStore } from '../checkpoint/directory-store.js';
import { latestCheckpoint } from '../checkpoint/store.js';
import { CheckpointError, ConfigError } from '../errors.js';
import type { Model } from './model.js';
import { bindResumeSource, refuseForeignCheckpoints, type ResumeBinding } from './resume-binding.js';

export interface LocalCheckpointOptions {
  /** Where this run writes its checkpoints (`--checkpoint-dir`); undefined: none. */
  readonly checkpointDir?: string | undefined;
  /** Continue from the newest checkpoint of `checkpointDir` (`--resume`). */
  readonly resume?: boolean;
  /** Continue from this checkpoint file (`--resume-from`). */
  readonly resumeFrom?: string | undefined;
  readonly log: (line: string) => void;
}

/**
 * Before a single-process run trains: restores the checkpoint it resumes from (after checking it belongs to
 * this model and data set) and makes sure the checkpoints it will write overwrite no other run's (Note
 * [run-bound checkpoints] in resume-binding.ts). Everything is checked before any step and any write;
 * returns what the resume found (undefined for a fresh run).
 */
export async function prepareLocalCheckpoints(model: Model, o: LocalCheckpointOptions): Promise<ResumeBinding | undefined> {
  const dir = o.checkpointDir === undefined ? undefined : path.resolve(o.checkpointDir);
  if (o.resume && o.resumeFrom !== undefined) throw new ConfigError('--resume-from', 'cannot be combined with --resume', { hint: '--resume takes the newest checkpoint of --checkpoint-dir; --resume-from names one file' });
  if (o.resume && dir === undefined) throw new ConfigError('--resume', 'needs --checkpoint-dir to find the checkpoint');
  const store = dir === undefined ? undefined : new DirectoryCheckpointStore(dir);
  const freshHint = 'continue that run with --resume, start from one of its files with --resume-from <file>, or give an empty --checkpoint-dir';

  if (o.resume) {
    const file = (await latestCheckpoint(dir!))?.path;
    if (!file) throw new CheckpointError(dir!, 'no checkpoint to resume from', { hint: 'run without --resume first, with the same --checkpoint-dir' });
    const binding = await bindResumeSource(file, model.config, dir!);
    await model.restore(file);
    // The folder's newest checkpoint is the one resumed: the run writes on into its own folder.
    for (const line of binding.lines) o.log(line);
    return binding;
  }
  if (o.resumeFrom !== undefined) {
    const file = path.resolve(o.resumeFrom);
    const binding = await bindResumeSource(file, model.config, file);
    // Checked before the tensors are loaded: a refused folder leaves nothing changed.
    if (store !== undefined) await refuseForeignCheckpoints(store, binding.run?.id, freshHint, file);
    await model.restore(file);
    for (const line of binding.lines) o.log(line);
    return binding;
  }
  if (store !== undefined) await refuseForeignCheckpoints(store, undefined, freshHint);
  return undefined;
}
