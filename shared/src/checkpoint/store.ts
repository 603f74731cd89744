import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CheckpointError, ConfigError } from '../errors.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointContents } from './format.js';
import { checkpointFileName, parseCheckpointStep } from './naming.js';

export { checkpointFileName, parseCheckpointStep } from './naming.js';

/**
 * Checkpoint files on disk. Note [atomic replace]: a checkpoint is written to a temporary file in
 * the target's directory, fsynced, renamed over the target and the directory fsynced. rename is
 * atomic within a file system, so the target name always holds either the previous complete
 * file or the new complete file — a crash can leave a stray temporary behind, never a partial
 * checkpoint. Temporaries are hidden (`.ckpt-…tmp`) and never match the checkpoint pattern, so
 * listing and `latestCheckpoint` ignore them.
 */

let tempCounter = 0;

export async function writeCheckpointAtomic(target: string, contents: CheckpointContents): Promise<void> {
  await writeBytesAtomic(target, encodeCheckpoint(contents));
}

/** Writes already encoded checkpoint bytes to `target` atomically (Note [atomic replace]). */
export async function writeBytesAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  // pid + counter keeps concurrent writers (threads share a pid, processes do not) apart.
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}-${tempCounter++}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
    await syncDirectory(dir);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new CheckpointError(target, `could not be written: ${(err as Error).message}`, {
      cause: err,
      hint: 'check that the directory is writable and the disk has free space; the previous checkpoint, if any, is unchanged',
    });
  }
}

/** Makes the rename itself durable (POSIX stores directory entries separately from file data). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms (Windows) cannot open or fsync a directory; the rename has still happened.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    await handle?.close();
  }
}

/** Reads and fully verifies a checkpoint (structure and sha256); see format.ts. */
export async function readCheckpoint(file: string): Promise<CheckpointContents> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(file, code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`, {
      cause: err,
      hint: code === 'ENOENT' ? 'check the path; checkpoints are named ckpt-<step>.safetensors' : 'check the file permissions',
    });
  }
  return decodeCheckpoint(bytes, file);
}

export interface CheckpointFile {
  readonly step: number;
  readonly path: string;
}

/** The checkpoints in `dir`, oldest step first; an absent directory has none. */
export async function listCheckpoints(dir: string): Promise<CheckpointFile[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CheckpointError(dir, `cannot list checkpoints: ${(err as Error).message}`, { cause: err });
  }
  const found: CheckpointFile[] = [];
  for (const name of names) {
    const step = parseCheckpointStep(name);
    if (step !== undefined) found.push({ step, path: path.join(dir, name) });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The checkpoint with the highest step in `dir`, or undefined. It is not opened or verified here. */
export async function latestCheckpoint(dir: string): Promise<CheckpointFile | undefined> {
  return (await listCheckpoints(dir)).at(-1);
}

/** Deletes all but the `keepLast` newest checkpoints; returns the deleted paths. */
export async function pruneCheckpoints(dir: string, keepLast: number): Promise<string[]> {
  if (!Number.isInteger(keepLast) || keepLast < 1) throw new ConfigError('keepLast', 'the number of checkpoints to keep must be a positive integer', { value: keepLast });
  const all = await listCheckpoints(dir);
  const doomed = all.slice(0, Math.max(0, all.length - keepLast)).map((c) => c.path);
  for (const p of doomed) await fs.rm(p, { force: true });
  return doomed;
}

/**
 * Writes `dir/ckpt-<step>.safetensors` atomically, then (with `keepLast`) prunes older ones.
 * Pruning runs only after the new file is durable, so at least one complete checkpoint exists
 * at every moment.
 */
export async function saveCheckpoint(
  dir: string,
  step: number,
  contents: CheckpointContents,
  options: { keepLast?: number } = {},
): Promise<string> {
  const file = path.join(dir, checkpointFileName(step));
  await writeCheckpointAtomic(file, contents);
  if (options.keepLast !== undefined) await pruneCheckpoints(dir, options.keepLast);
  return file;
}
