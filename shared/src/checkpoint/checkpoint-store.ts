/**
 * Where checkpoints live, as bytes under names (`ckpt-<step>.safetensors`, naming.ts). Two implementations:
 * `DirectoryCheckpointStore` (atomic files, this package) and `NatsObjectCheckpointStore` (a JetStream
 * Object Store bucket per run, @gradmesh/transport). A store moves bytes; checking them is the format's job
 * (`decodeCheckpoint` verifies the structure and the sha256 of the data), see `latest-verified.ts`.
 */
export interface StoredCheckpoint {
  /** The checkpoint's name in its store (`ckpt-<step>.safetensors`). */
  readonly name: string;
  readonly step: number;
}

export interface CheckpointStore {
  /** Says where the store is, for messages and the report: `dir:/abs/path` or `nats:<bucket>`. */
  readonly location: string;
  /** How many checkpoints a save keeps (older ones are pruned after the new one is durable); undefined: all. */
  readonly keepLast: number | undefined;
  /** Stores `bytes` under `name`, replacing any previous object of that name as one unit; returns where it went. */
  put(name: string, bytes: Uint8Array): Promise<string>;
  /** The bytes stored under `name`; throws CheckpointError when there is none. */
  get(name: string): Promise<Uint8Array>;
  /** The checkpoints held, oldest step first. */
  list(): Promise<StoredCheckpoint[]>;
  /** Deletes all but the `keepLast` newest; returns the names deleted. */
  prune(keepLast: number): Promise<string[]>;
  /** Says where `name` is, for messages (`/abs/dir/ckpt-….safetensors`, `nats:<bucket>/ckpt-…`). */
  describe(name: string): string;
}

/** The newest checkpoint in `store` by step, not opened or verified (see `readLatestVerified` for that). */
export async function latestStored(store: CheckpointStore): Promise<StoredCheckpoint | undefined> {
  return (await store.list()).at(-1);
}

/** Writes a checkpoint, then applies the store's keep-last policy: pruning follows a durable put, so a complete checkpoint exists at every moment. */
export async function putAndPrune(store: CheckpointStore, name: string, bytes: Uint8Array): Promise<string> {
  const where = await store.put(name, bytes);
  if (store.keepLast !== undefined) await store.prune(store.keepLast);
  return where;
}
