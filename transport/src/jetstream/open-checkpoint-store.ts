import type { NatsConnection } from '@nats-io/nats-core';
import { DirectoryCheckpointStore, type CheckpointStore, type CheckpointStoreSpec } from '@gradmesh/shared/internal';
import { NatsObjectCheckpointStore } from './nats-object-checkpoint-store.js';

/** The store a `--checkpoint-store` spec names, for run `runId` on connection `nc`. */
export async function openCheckpointStore(spec: CheckpointStoreSpec, nc: NatsConnection, runId: string): Promise<CheckpointStore> {
  return spec.kind === 'nats' ? NatsObjectCheckpointStore.open(nc, runId) : new DirectoryCheckpointStore(spec.dir);
}
