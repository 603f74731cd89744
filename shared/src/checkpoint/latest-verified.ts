import { CheckpointError, GradmeshError } from '../errors.js';
import type { CheckpointStore, StoredCheckpoint } from './checkpoint-store.js';
import { decodeCheckpoint, type CheckpointContents } from './format.js';

export interface VerifiedCheckpoint {
  readonly name: string;
  readonly step: number;
  /** Where it was read from (for messages). */
  readonly where: string;
  readonly contents: CheckpointContents;
}

/** Reads `name` from `store` and verifies it (structure and the sha256 of the data, format.ts). */
export async function readVerified(store: CheckpointStore, checkpoint: StoredCheckpoint): Promise<VerifiedCheckpoint> {
  const where = store.describe(checkpoint.name);
  const bytes = await store.get(checkpoint.name);
  return { name: checkpoint.name, step: checkpoint.step, where, contents: decodeCheckpoint(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), where) };
}

/**
 * The newest checkpoint of `store` that verifies, or undefined when the store holds none.
 *
 * Note [fall back to the previous checkpoint]: a newest checkpoint that fails verification (a torn or altered
 * object, a bit flip at rest) is reported in one log line and the one before it is used — the run loses the
 * steps since that one, never its correctness. Only a CheckpointError (the bytes are wrong) falls back; a
 * store that cannot be reached at all is an error of its own and is thrown. When every checkpoint fails, the
 * newest one's error is thrown.
 */
export async function readLatestVerified(store: CheckpointStore, log: (line: string) => void): Promise<VerifiedCheckpoint | undefined> {
  const all = await store.list();
  let newestError: unknown;
  for (let i = all.length - 1; i >= 0; i--) {
    try {
      return await readVerified(store, all[i]!);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      newestError ??= error;
      const previous = all[i - 1];
      log(`checkpoint ${store.describe(all[i]!.name)} failed verification (${oneLine(error)}); ${previous ? `using the previous one, ${previous.name}` : 'no older checkpoint to fall back to'}`);
    }
  }
  if (newestError !== undefined) throw newestError;
  return undefined;
}

function oneLine(error: GradmeshError): string {
  return error.message.split('\n')[0]!;
}
