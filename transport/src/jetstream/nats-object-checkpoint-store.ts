import type { NatsConnection } from '@nats-io/nats-core';
import { Objm, StorageType, type ObjectStore } from '@nats-io/obj';
import { CheckpointError, ConfigError, parseCheckpointStep, type CheckpointStore, type StoredCheckpoint } from '@gradmesh/shared/internal';
import { checkpointBucket } from './bucket-names.js';
import { jetStreamOf } from './jetstream-client.js';
import { bucketError } from './jetstream-error.js';

/** Checkpoints kept by default: enough to fall back past a bad newest one (Note [fall back to the previous checkpoint]). */
export const DEFAULT_KEEP_CHECKPOINTS = 3;

/**
 * A run's checkpoints in a JetStream Object Store bucket (`gradmesh-<run>-checkpoints`), so no machine of the
 * cluster needs a shared file system and a checkpoint outlives the pod that wrote it.
 *
 * Note [object store checkpoints]: one rank writes (rank 0, `putAndPrune`); `putBlob` publishes the chunks
 * under a fresh id and then the object's metadata, so a reader sees the previous complete object or the new
 * one, never a mix. Bytes are verified twice on the way back: the client checks the object's SHA-256 digest
 * against its chunks, and `readVerified` checks the checkpoint's own sha256 of the tensor data (which also
 * catches bytes that were wrong before they were stored). Either failure is a CheckpointError, so the newest
 * bad checkpoint falls back to the previous one. The bucket uses file storage: it survives a server restart
 * when the server has a persistent store directory.
 */
export class NatsObjectCheckpointStore implements CheckpointStore {
  readonly bucket: string;
  readonly keepLast: number | undefined;
  readonly #objects: ObjectStore;

  private constructor(bucket: string, objects: ObjectStore, keepLast: number | undefined) {
    this.bucket = bucket;
    this.#objects = objects;
    this.keepLast = keepLast;
  }

  /** Opens (creating if needed) the run's bucket. */
  static async open(nc: NatsConnection, runId: string, options: { keepLast?: number } = {}): Promise<NatsObjectCheckpointStore> {
    const keepLast = options.keepLast ?? DEFAULT_KEEP_CHECKPOINTS;
    if (!Number.isInteger(keepLast) || keepLast < 1) throw new ConfigError('keepLast', 'the number of checkpoints to keep must be a positive integer', { value: keepLast });
    const bucket = checkpointBucket(runId);
    try {
      const objects = await new Objm(jetStreamOf(nc)).create(bucket, { storage: StorageType.File, description: `gradmesh checkpoints of run ${runId}` });
      return new NatsObjectCheckpointStore(bucket, objects, keepLast);
    } catch (cause) {
      throw bucketError(bucket, 'checkpoint', cause);
    }
  }

  get location(): string {
    return `nats:${this.bucket}`;
  }

  describe(name: string): string {
    return `nats:${this.bucket}/${name}`;
  }

  async put(name: string, bytes: Uint8Array): Promise<string> {
    this.#check(name);
    try {
      await this.#objects.putBlob({ name }, bytes);
    } catch (cause) {
      throw new CheckpointError(this.describe(name), `could not be written: ${(cause as Error).message}`, { cause, hint: 'check the NATS server\'s JetStream limits (max_file_store) and free disk; the previous checkpoint is unchanged' });
    }
    return this.describe(name);
  }

  async get(name: string): Promise<Uint8Array> {
    this.#check(name);
    let bytes: Uint8Array | null;
    try {
      bytes = await this.#objects.getBlob(name);
    } catch (cause) {
      // A digest mismatch lands here as well as a read error: both mean these bytes cannot be trusted.
      throw new CheckpointError(this.describe(name), `cannot be read: ${(cause as Error).message}`, { cause });
    }
    if (bytes === null) throw new CheckpointError(this.describe(name), 'does not exist');
    return bytes;
  }

  async list(): Promise<StoredCheckpoint[]> {
    const found: StoredCheckpoint[] = [];
    for (const info of await this.#objects.list()) {
      if (info.deleted) continue;
      const step = parseCheckpointStep(info.name);
      if (step !== undefined) found.push({ name: info.name, step });
    }
    return found.sort((a, b) => a.step - b.step);
  }

  async prune(keepLast: number): Promise<string[]> {
    if (!Number.isInteger(keepLast) || keepLast < 1) throw new ConfigError('keepLast', 'the number of checkpoints to keep must be a positive integer', { value: keepLast });
    const all = await this.list();
    const doomed = all.slice(0, Math.max(0, all.length - keepLast)).map((c) => c.name);
    for (const name of doomed) await this.#objects.delete(name);
    return doomed;
  }

  #check(name: string): void {
    if (parseCheckpointStep(name) === undefined) throw new CheckpointError(this.describe(String(name)), 'is not a checkpoint name (ckpt-<step>.safetensors)');
  }
}
