import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterError, parseCheckpointStep, readVerified, type CheckpointStore, type CheckpointStoreKind, type VerifiedCheckpoint } from '@gradmesh/shared/internal';
import { openCheckpointStore } from '@gradmesh/transport';

/**
 * The checkpoint store of this worker's run, from the KIND the assignment names and what this process was
 * started with (Note [the store is the worker's] in shared/src/protocol/messages.ts): `nats` is the run's
 * bucket on the server this worker is connected to; `dir` is the worker's own `--checkpoint-dir`, never a
 * path from the wire.
 */
export async function assignedCheckpointStore(
  kind: CheckpointStoreKind | undefined,
  context: { nc: NatsConnection; runId: string; workerId: string; checkpointDir: string | undefined },
): Promise<CheckpointStore | undefined> {
  if (kind === undefined) return undefined;
  if (kind === 'nats') return openCheckpointStore({ kind: 'nats' }, context.nc, context.runId);
  if (context.checkpointDir === undefined) {
    throw new ClusterError(`worker ${context.workerId}: the run checkpoints to a directory, and this worker was started without --checkpoint-dir`, {
      worker: context.workerId,
      hint: 'start every worker with --checkpoint-dir <the shared directory> (as mounted on its machine), or run the coordinator with --checkpoint-store nats',
    });
  }
  return openCheckpointStore({ kind: 'dir', dir: context.checkpointDir }, context.nc, context.runId);
}

/** The checkpoint the coordinator chose for `--resume`, read and verified (no fallback here: every rank must restore the same one). */
export async function assignedResumePoint(store: CheckpointStore | undefined, name: string, workerId: string): Promise<VerifiedCheckpoint> {
  if (store === undefined) throw new ClusterError(`worker ${workerId}: told to resume from ${name} but the assignment names no checkpoint store`, { worker: workerId });
  return readVerified(store, { name, step: parseCheckpointStep(name) ?? 0 });
}
