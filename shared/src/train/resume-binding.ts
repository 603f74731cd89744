import type { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { readVerified } from '../checkpoint/latest-verified.js';
import { runIdentity, shortHash, type CheckpointRun } from '../checkpoint/run-identity.js';
import type { RunConfig } from '../config/run-config.js';
import type { Json } from '../config/validate.js';
import { CheckpointError } from '../errors.js';
import { readTrainingCheckpointInfo, type TrainingCheckpointInfo } from './checkpointing.js';

/**
 * Note [run-bound checkpoints]
 * Every checkpoint records the run that wrote it: an id (a fresh `train-…` id per `gradmesh train` run, the
 * `--run` id of a cluster run) and the hashes of the config's `model` and `dataset` sections (run-identity.ts).
 * Two rules follow, checked before any step or any write:
 *   - a resume (`--resume`, `--resume-from`) refuses a checkpoint whose model or data hash differs from the
 *     config's (the tensors would be another model's, or fitted to other data); any other change of the config
 *     — learning rate, epochs, schedule, batch size — is allowed and listed (`configChanges`);
 *   - a run never writes into a checkpoint folder or store whose newest checkpoint belongs to another run: a
 *     fresh run refuses a folder that holds any checkpoint (option (a) of issue 17: refuse, rather than a
 *     per-run subfolder, so `--checkpoint-dir D` keeps meaning "the checkpoints are in D"); a resumed run
 *     writes on into the folder it resumed from, or into one holding its own run's checkpoints.
 * Checkpoints written before runs were recorded have no `run` field: they are an "unknown run", resumable
 * with a warning line (their model and data cannot be checked) and, like any checkpoint, never overwritten by
 * a fresh run.
 */

/** One field of the config that differs between a checkpoint and the resuming run. */
export interface ConfigChange {
  /** Dotted path, e.g. `optimizer.learningRate`. */
  readonly field: string;
  readonly before: Json | undefined;
  readonly after: Json | undefined;
}

/** What a resume learned about the checkpoint it continues from. */
export interface ResumeBinding {
  /** The checkpoint's run; undefined for an unknown run (an old checkpoint). */
  readonly run: CheckpointRun | undefined;
  /** The config fields that changed since the checkpoint (model and data excluded: they may not). */
  readonly changes: readonly ConfigChange[];
  /** Lines for the user: the run, what the resume repeats, the changes, and any warning. */
  readonly lines: readonly string[];
}

/** Sections whose change is a different run, refused by hash instead of listed. */
const BOUND_SECTIONS = new Set(['model', 'dataset']);

/**
 * Checks that `info` (a checkpoint) may be resumed with `config`; throws a CheckpointError naming the folder,
 * both runs and both hashes when its model or data set differs. `folder` names where the checkpoint was
 * found (the checkpoint folder or store, or the file given with --resume-from); `currentRun` names the
 * resuming run when it has an id of its own (a cluster run's --run).
 */
export function bindResume(info: TrainingCheckpointInfo, config: RunConfig, folder: string, currentRun?: string): ResumeBinding {
  const own = runIdentity(config);
  const saved = info.run;
  const where = info.where === folder ? '' : `its newest checkpoint ${info.where}`;
  if (saved !== undefined && (saved.modelHash !== own.modelHash || saved.dataHash !== own.dataHash)) {
    const differs = [saved.modelHash !== own.modelHash ? 'model' : '', saved.dataHash !== own.dataHash ? 'data set' : ''].filter(Boolean).join(' and ');
    const configName = config.file === '(inline)' ? 'this config' : `this config (${config.file})`;
    throw new CheckpointError(
      folder,
      `${where === '' ? 'the checkpoint' : where} (step ${info.state.step}) belongs to run "${saved.id}" (model ${shortHash(saved.modelHash)}, data ${shortHash(saved.dataHash)}), but ${currentRun === undefined ? configName : `run "${currentRun}" (${configName.replace(/^this /, '')})`} has model ${shortHash(own.modelHash)}, data ${shortHash(own.dataHash)}: a different ${differs}`,
      { hint: `resume it with the config it was trained with (stored in the checkpoint), or train this config with a fresh --checkpoint-dir` },
    );
  }
  const changes = configChanges(info.config, config.raw).filter((c) => !BOUND_SECTIONS.has(c.field.split('.')[0]!));
  const lines: string[] = [];
  const at = `step ${info.state.step} (epoch ${info.state.position.epoch + 1}, batch ${info.state.position.batch})`;
  lines.push(`resumed from ${info.where} at ${at}, run ${saved === undefined ? 'unknown' : `"${saved.id}"`}`);
  if (saved === undefined) lines.push('warning: the checkpoint was written before gradmesh recorded runs: its model and data set cannot be checked against this config');
  lines.push(
    info.stoppedBy !== undefined
      ? `repeats 0 steps: the checkpoint was written when the previous run stopped (${info.stoppedBy})`
      : `the checkpoint was written during training (an epoch end or training.checkpointEverySteps): any steps the previous run took after step ${info.state.step} are taken again`,
  );
  if (changes.length > 0) lines.push(`config changes since the checkpoint: ${changes.map(describeChange).join('; ')}`);
  return { run: saved, changes, lines };
}

/** Reads `source`'s training metadata and binds it (bindResume). */
export async function bindResumeSource(source: Parameters<typeof readTrainingCheckpointInfo>[0], config: RunConfig, folder: string, currentRun?: string): Promise<ResumeBinding> {
  return bindResume(await readTrainingCheckpointInfo(source), config, folder, currentRun);
}

/**
 * Refuses to let run `runId` write into `store` when its newest checkpoint belongs to another run (Note
 * [run-bound checkpoints]); `runId` undefined: a fresh run, to which no checkpoint belongs. Nothing is read
 * when the store is empty. `resumedFrom`: where the checkpoint the run resumes from is (`describe` of the
 * store): when it is the store's newest, the run continues it (even an unknown run's). `hint` says what to do
 * instead (the flags differ between train and the cluster).
 */
export async function refuseForeignCheckpoints(store: CheckpointStore, runId: string | undefined, hint: string, resumedFrom?: string): Promise<void> {
  const all = await store.list();
  const newest = all.at(-1);
  if (newest === undefined || (resumedFrom !== undefined && store.describe(newest.name) === resumedFrom)) return;
  let owner: string;
  try {
    const info = await readTrainingCheckpointInfo(await readVerified(store, newest));
    if (info.run !== undefined && info.run.id === runId) return;
    owner = info.run === undefined ? 'an unknown run (written before runs were recorded)' : `run "${info.run.id}"`;
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    owner = 'an unknown run (its newest checkpoint does not verify)';
  }
  const folder = store.location.startsWith('dir:') ? store.location.slice('dir:'.length) : store.location;
  throw new CheckpointError(folder, `holds ${all.length} checkpoint${all.length > 1 ? 's' : ''} of ${owner}, the newest ${newest.name} (step ${newest.step}); ${runId === undefined ? 'a fresh run' : `run "${runId}"`} would overwrite them`, { hint });
}

/**
 * The leaves of `after` that differ from `before`, as dotted paths (arrays compared whole: a changed list is
 * one change). Pure; keys in a different order are no change.
 */
export function configChanges(before: Json | undefined, after: Json | undefined, prefix = ''): ConfigChange[] {
  const isMap = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isMap(before) && isMap(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => configChanges(before[k], after[k], prefix === '' ? k : `${prefix}.${k}`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ field: prefix === '' ? '(root)' : prefix, before, after }];
}

export function describeChange(c: ConfigChange): string {
  const show = (v: Json | undefined) => {
    if (v === undefined) return '(unset)';
    const text = JSON.stringify(v);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  return `${c.field} ${show(c.before)} → ${show(c.after)}`;
}
