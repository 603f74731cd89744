import { decodeCheckpoint, encodeCheckpoint } from '../checkpoint/format.js';
import { describeField, failAt, int, type JsonObject, type ValidationScope } from '../config/validate.js';
import { CheckpointError } from '../errors.js';
import { loadReplicaTensors, readSavedReplica, replicaTensors } from './checkpointing.js';
import type { Model } from './model.js';

const FORMAT = 'gradmesh-replica-state';

/**
 * A live replica's state as bytes, for a worker that joins a running generation: the tensors a checkpoint
 * holds (parameters, optimizer state, best snapshot) and the step they belong to, in the checkpoint format,
 * whose sha256 of the data is verified on decode. The training state (history, position) is not in it: the
 * coordinator owns that.
 */
export function encodeReplicaState(model: Model, step: number): Uint8Array {
  const meta: JsonObject = {
    format: FORMAT,
    version: 1,
    step,
    optimizer: { name: model.optimizer.name, step: model.optimizer.stepCount },
    parameterCount: model.params.values.size,
    paramsChecksum: model.params.checksum(),
  };
  return encodeCheckpoint({ meta, tensors: replicaTensors(model) });
}

/** Verifies and loads a state from `source` (e.g. "the state of rank 0") into `model`; returns its step. */
export function restoreReplicaState(bytes: Uint8Array, model: Model, source: string): number {
  const contents = decodeCheckpoint(bytes, source);
  const m = contents.meta;
  const scope: ValidationScope = { path: '', error: (field, message, details) => new CheckpointError(source, describeField(field, message, details)) };
  if (m['format'] !== FORMAT) failAt(scope, 'format', `must be "${FORMAT}"`, m['format']);
  const saved = readSavedReplica(m, scope);
  const step = int(m, 'step', scope, { min: 0, max: 2 ** 32 - 1 });
  loadReplicaTensors(source, contents.tensors, model, saved);
  return step;
}
