import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CheckpointError, ConfigError } from '../errors.js';
import type { CheckpointStore, StoredCheckpoint } from './checkpoint-store.js';
import { parseCheckpointStep } from './naming.js';
import { listCheckpoints, pruneCheckpoints, writeBytesAtomic } from './store.js';

/**
 * Checkpoints as files in one directory, written atomically (Note [atomic replace] in store.ts). The store of
 * single-process `train`, and of a cluster run given `--checkpoint-store dir:<path>` / `--checkpoint-dir`.
 */
export class DirectoryCheckpointStore implements CheckpointStore {
  readonly dir: string;
  readonly keepLast: number | undefined;

  constructor(dir: string, options: { keepLast?: number } = {}) {
    this.dir = path.resolve(dir);
    if (options.keepLast !== undefined && (!Number.isInteger(options.keepLast) || options.keepLast < 1)) {
      throw new ConfigError('keepLast', 'the number of checkpoints to keep must be a positive integer', { value: options.keepLast });
    }
    this.keepLast = options.keepLast;
  }

  get location(): string {
    return `dir:${this.dir}`;
  }

  describe(name: string): string {
    return path.join(this.dir, name);
  }

  async put(name: string, bytes: Uint8Array): Promise<string> {
    const file = this.#file(name);
    await writeBytesAtomic(file, bytes);
    return file;
  }

  async get(name: string): Promise<Uint8Array> {
    const file = this.#file(name);
    try {
      return await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CheckpointError(file, code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }

  async list(): Promise<StoredCheckpoint[]> {
    return (await listCheckpoints(this.dir)).map((c) => ({ name: path.basename(c.path), step: c.step }));
  }

  async prune(keepLast: number): Promise<string[]> {
    return (await pruneCheckpoints(this.dir, keepLast)).map((p) => path.basename(p));
  }

  /** Only checkpoint names are accepted: a name can never point outside the directory. */
  #file(name: string): string {
    if (parseCheckpointStep(name) === undefined) throw new CheckpointError(this.describe(String(name)), 'is not a checkpoint name (ckpt-<step>.safetensors)');
    return path.join(this.dir, name);
  }
}
