import { putAndPrune, type CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { DirectoryCheckpointStore } from '../checkpoint/directory-store.js';
import { encodeCheckpoint, type CheckpointContents } from '../checkpoint/format.js';
import { checkpointFileName } from '../checkpoint/naming.js';
import { readCheckpoint } from '../checkpoint/store.js';
import { child, describeField, failAt, int, object, requireString, type JsonObject, type ValidationScope } from '../config/validate.js';
import { CheckpointError, formatValue } from '../errors.js';
import { runIdentity, type CheckpointRun } from '../checkpoint/run-identity.js';
import type { Model } from './model.js';
import { allFinite, firstNonFinite } from './finite.js';
import { copyTrainingState, parseTrainingState, type TrainingState } from './training-state.js';

const FORMAT = 'gradmesh-training-state';

/**
 * A training checkpoint: the parameters, the optimizer state and early stopping's best snapshot as
 * tensors, and in the metadata the run's config, seed, optimizer name and step, a checksum of the
 * parameters, and the TrainingState (its fields at the top level of the metadata).
 */
interface CheckpointMeta {
  format: typeof FORMAT;
  version: 1;
  config: JsonObject;
  seed: number;
  optimizer: { name: string; step: number };
  parameterCount: number;
  /** sha256 of the parameters, so a resumed run can prove it restored the same values. */
  paramsChecksum: string;
  /** The names of the output classes when the training data named them (string CSV labels), class 0 first. */
  classNames?: string[];
  /** The run that wrote it (Note [run-bound checkpoints] in resume-binding.ts); absent in checkpoints written before. */
  run: CheckpointRun;
  /** Written because the run stopped here (`--max-steps`, `SIGINT`, …): a resume repeats no step. */
  stoppedBy?: string;
}

/** Why a checkpoint is written, beyond the tensors and the state: the reason when the run stops at it. */
export interface CheckpointWriteOptions {
  readonly stoppedBy?: string | undefined;
}

/** What a training checkpoint says about itself, besides its tensors. */
export interface TrainingCheckpointInfo {
  /** Where it was read from (for messages). */
  readonly where: string;
  readonly state: TrainingState;
  /** The config it was trained with, as written. */
  readonly config: JsonObject;
  /** The run that wrote it; undefined for a checkpoint written before runs were recorded ("unknown run"). */
  readonly run: CheckpointRun | undefined;
  readonly stoppedBy: string | undefined;
}

/**
 * A checkpoint to read: a file path, or contents already read and verified from a store (`readLatestVerified`),
 * with `where` naming it in errors.
 */
export type CheckpointSource = string | { readonly where: string; readonly contents: CheckpointContents };

/**
 * Writes the checkpoint of `model` at `state` as `ckpt-<step>.safetensors` into `target` — a directory path
 * (atomic file, nothing pruned: what `train --checkpoint-dir` has always done) or a store (with its keep-last
 * policy). Returns where it went. Refuses (CheckpointError, nothing written) when a parameter or the best
 * snapshot holds a NaN or ±Infinity: a checkpoint is what a run resumes from, and a non-finite one could only
 * resume a diverged run (the NaN/Inf guard keeps gradients out; this keeps out whatever else got through, e.g.
 * an update that overflowed).
 */
export async function saveTrainingCheckpoint(target: string | CheckpointStore, model: Model, state: TrainingState, options: CheckpointWriteOptions = {}): Promise<string> {
  const store = typeof target === 'string' ? new DirectoryCheckpointStore(target) : target;
  const name = checkpointFileName(state.step);
  refuseNonFinite(store.describe(name), model, state.step);
  return putAndPrune(store, name, encodeTrainingCheckpoint(model, state, options));
}

/** The checkpoint bytes of `model` (parameters, optimizer state, best snapshot) and `state`, bound to `model.runId`. */
export function encodeTrainingCheckpoint(model: Model, state: TrainingState, options: CheckpointWriteOptions = {}): Buffer {
  const meta: CheckpointMeta & TrainingState = {
    format: FORMAT,
    version: 1,
    config: model.config.raw,
    seed: model.config.seed,
    optimizer: { name: model.optimizer.name, step: model.optimizer.stepCount },
    parameterCount: model.params.values.size,
    paramsChecksum: model.params.checksum(),
    run: { id: model.runId, ...runIdentity(model.config) },
    ...(options.stoppedBy === undefined ? {} : { stoppedBy: options.stoppedBy }),
    ...(model.classNames === undefined ? {} : { classNames: [...model.classNames] }),
    ...copyTrainingState(state),
  };
  return encodeCheckpoint({ meta: meta as unknown as JsonObject, tensors: replicaTensors(model) });
}

/** What a replica holds as tensors: parameters, optimizer state and early stopping's best snapshot. */
export function replicaTensors(model: Model): CheckpointContents['tensors'] {
  const tensors: CheckpointContents['tensors'] = model.params.entries.map((p) => ({
    name: `params/${p.layer}/${p.spec.name}`,
    shape: [...p.spec.shape],
    data: p.value.data.slice(),
  }));
  for (const s of model.optimizer.stateTensors()) tensors.push({ name: `optimizer/${s.name}`, shape: [...s.tensor.shape], data: s.tensor.data.slice() });
  const best = model.params.best;
  if (best) tensors.push({ name: 'earlyStopping/bestParams', shape: [best.length], data: best.slice() });
  return tensors;
}

/**
 * Loads `replicaTensors` back into `model` after checking that they fit it; `source` names where they came
 * from in errors (a file, or a peer). The parameters must hash to `paramsChecksum`.
 */
export function loadReplicaTensors(
  source: string,
  tensors: CheckpointContents['tensors'],
  model: Model,
  saved: { parameterCount: number; optimizer: { name: string; step: number }; paramsChecksum: string },
): void {
  if (saved.parameterCount !== model.params.values.size) {
    throw new CheckpointError(source, `holds ${saved.parameterCount} parameters but the model has ${model.params.values.size}`, {
      hint: 'the checkpoint was written for a different model spec; use the config it was trained with',
    });
  }
  if (saved.optimizer.name !== model.optimizer.name) {
    throw new CheckpointError(source, `was trained with optimizer "${saved.optimizer.name}", the config says "${model.optimizer.name}"`);
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const find = (name: string, size: number) => {
    const t = byName.get(name);
    if (!t) throw new CheckpointError(source, `has no tensor "${name}"`, { hint: 'the checkpoint does not match this model/optimizer' });
    if (t.data.length !== size) throw new CheckpointError(source, `tensor "${name}" has ${t.data.length} values, the model needs ${size}`);
    return t.data;
  };
  // Check everything before changing anything: a refused state leaves the model as it was.
  const params = model.params.entries.map((p) => [p.value.data, find(`params/${p.layer}/${p.spec.name}`, p.value.data.length)] as const);
  const optimizer = model.optimizer.stateTensors().map((s) => [s.tensor.data, find(`optimizer/${s.name}`, s.tensor.data.length)] as const);
  const best = byName.has('earlyStopping/bestParams') ? find('earlyStopping/bestParams', model.params.values.size) : undefined;
  for (const [target, data] of [...params, ...optimizer]) target.set(data);
  model.optimizer.setStepCount(saved.optimizer.step);
  model.params.setBest(best?.slice());
  if (model.params.checksum() !== saved.paramsChecksum) throw new CheckpointError(source, 'parameters restored with a different checksum than was saved');
}

async function open(source: CheckpointSource): Promise<{ file: string; contents: CheckpointContents }> {
  return typeof source === 'string' ? { file: source, contents: await readCheckpoint(source) } : { file: source.where, contents: source.contents };
}

function refuseNonFinite(file: string, model: Model, step: number): void {
  const hint = 'the model diverged; resume from an earlier checkpoint with a lower optimizer.learningRate or training.clipNorm';
  if (!allFinite(model.params.values.data)) {
    const at = firstNonFinite(model.params.values.data);
    const entry = model.params.entries.find((p) => at >= p.offset && at < p.offset + p.value.size)!;
    throw new CheckpointError(file, `refusing to write the checkpoint of step ${step}: parameter ${entry.layer}/${entry.spec.name} holds ${model.params.values.data[at]} at index ${at - entry.offset}`, { hint });
  }
  const best = model.params.best;
  if (best !== undefined && !allFinite(best)) {
    const at = firstNonFinite(best);
    throw new CheckpointError(file, `refusing to write the checkpoint of step ${step}: early stopping's best snapshot holds ${best[at]} at index ${at}`, { hint });
  }
}

/** The training state of a checkpoint, validated (the coordinator needs it without a model). */
export async function readTrainingState(source: CheckpointSource): Promise<TrainingState> {
  const { file, contents } = await open(source);
  return checkMeta(file, contents.meta).state;
}

/** The training state, config, run and stop reason of a checkpoint, validated (without loading its tensors). */
export async function readTrainingCheckpointInfo(source: CheckpointSource): Promise<TrainingCheckpointInfo> {
  const { file, contents } = await open(source);
  const { meta, state, run } = checkMeta(file, contents.meta);
  return { where: file, state, config: meta.config, run, stoppedBy: meta.stoppedBy };
}

/**
 * Loads parameters, optimizer state and the best snapshot into `model`; returns the training state to continue
 * from. The model takes over the checkpoint's run id (its later checkpoints belong to the same run); a
 * checkpoint of an unknown run leaves the model's own id.
 */
export async function restoreTrainingCheckpoint(source: CheckpointSource, model: Model): Promise<TrainingState> {
  const { file, contents } = await open(source);
  const { meta, state, run } = checkMeta(file, contents.meta);
  loadReplicaTensors(file, contents.tensors, model, meta);
  if (run !== undefined) model.runId = run.id;
  if (meta.classNames !== undefined) model.classNames = meta.classNames;
  return state;
}

/** What any saved replica's metadata says about its tensors (a checkpoint, or a state sent to a joining worker). */
export function readSavedReplica(json: JsonObject, scope: ValidationScope): { parameterCount: number; optimizer: { name: string; step: number }; paramsChecksum: string } {
  const optimizer = object(json, 'optimizer', scope);
  const paramsChecksum = requireString(json, 'paramsChecksum', scope);
  if (!/^[0-9a-f]{64}$/.test(paramsChecksum)) failAt(scope, 'paramsChecksum', 'must be a sha256 in hex', paramsChecksum);
  return {
    parameterCount: int(json, 'parameterCount', scope, { min: 0 }),
    optimizer: { name: requireString(optimizer, 'name', child(scope, 'optimizer')), step: int(optimizer, 'step', child(scope, 'optimizer'), { min: 0 }) },
    paramsChecksum,
  };
}

/** Validates the metadata: a malformed field is refused with the file and the field's name, like a corrupt tensor. */
function checkMeta(file: string, json: JsonObject): { meta: CheckpointMeta; state: TrainingState; run: CheckpointRun | undefined } {
  if (json['format'] !== FORMAT) throw new CheckpointError(file, `not a gradmesh training checkpoint (format ${formatValue(json['format'])})`);
  const scope: ValidationScope = {
    path: '',
    error: (field, message, details) =>
      new CheckpointError(file, `metadata field ${describeField(field, message, details)}`, { hint: 'the file is not a gradmesh training checkpoint or was altered; use another checkpoint' }),
  };
  if (json['version'] !== 1) failAt(scope, 'version', 'must be 1', json['version']);
  object(json, 'config', scope);
  int(json, 'seed', scope, { min: 0, max: 2 ** 32 - 1 });
  readSavedReplica(json, scope);
  if ('classNames' in json) {
    const names = json['classNames'];
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) failAt(scope, 'classNames', 'must be a non-empty array of strings', names);
  }
  const state = parseTrainingState(json, scope, 'json');
  const run = json['run'] === undefined ? undefined : checkpointRun(json, scope);
  if (json['stoppedBy'] !== undefined) {
    const stoppedBy = requireString(json, 'stoppedBy', scope);
    if (stoppedBy.length > 100) failAt(scope, 'stoppedBy', 'must be at most 100 characters', stoppedBy.slice(0, 100));
  }
  return { meta: json as unknown as CheckpointMeta, state, run };
}

/** The `run` field: an id and the two identity hashes (run-identity.ts). */
function checkpointRun(json: JsonObject, scope: ValidationScope): CheckpointRun {
  const run = object(json, 'run', scope);
  const rs = child(scope, 'run');
  const id = requireString(run, 'id', rs);
  if (id.length === 0 || id.length > 200) failAt(rs, 'id', 'must be 1 to 200 characters', id.slice(0, 200));
  const hash = (key: string): string => {
    const value = requireString(run, key, rs);
    if (!/^[0-9a-f]{64}$/.test(value)) failAt(rs, key, 'must be a sha256 in hex', value.slice(0, 80));
    return value;
  };
  return { id, modelHash: hash('modelHash'), dataHash: hash('dataHash') };
}
