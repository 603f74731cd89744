import { createHash, randomBytes } from 'node:crypto';
import type { Json } from '../config/validate.js';

/**
 * What a checkpoint belongs to: the run that wrote it, and hashes of the two config sections that decide
 * whether its tensors mean anything for another config — the model (layers, shapes: what the parameters
 * ARE) and the data set (what they were fitted to). Everything else (learning rate, epochs, schedule,
 * batch size, …) may change across a resume; those changes are listed, not refused.
 */
export interface RunIdentity {
  /** sha256 (hex) of the `model` section as written, keys sorted. */
  readonly modelHash: string;
  /** sha256 (hex) of the `dataset` section as written, keys sorted. */
  readonly dataHash: string;
}

/** A checkpoint's run: its id (`train-…` for `gradmesh train`, the `--run` id of a cluster run) and identity. */
export interface CheckpointRun extends RunIdentity {
  readonly id: string;
}

/**
 * The identity of a config: a pure function of its `model` and `dataset` sections.
 *
 * Note [what the hashes cover]: the sections are hashed as written (canonical JSON: object keys sorted, no
 * whitespace), so `{"units":10,"activation":"relu"}` and the same keys in another order hash alike, while any
 * change of a layer, a unit count, an input shape or a data file name changes the hash. Relative data paths
 * are hashed as written (a config moved together with its data keeps its identity); a default written out
 * explicitly counts as a change — a refusal that costs one look, never a silent mix of runs.
 */
export function runIdentity(config: { readonly model: Json; readonly dataset: Json }): RunIdentity {
  return { modelHash: sha256(canonicalJson(config.model)), dataHash: sha256(canonicalJson(config.dataset)) };
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: Json | undefined): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

/** A fresh run id for `gradmesh train`: time-ordered, and unique across processes started at the same moment. */
export function newRunId(prefix = 'train'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The first 12 hex digits of a hash, for messages (the full hash is in the checkpoint). */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
