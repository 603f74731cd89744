import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { DataError } from '../../../shared/src/errors.js';

/** Test helpers for the data tests: IDX byte builders, a temp dir, and DataError assertions. */

/** An IDX file: 00 00 type ndims, big-endian uint32 dims, then the values (uint8 or big-endian float32). */
export function idxBytes(type: 0x08 | 0x0d, dims: readonly number[], values: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * (type === 0x08 ? 1 : 4));
  for (let i = 0; i < values.length; i++) {
    if (type === 0x08) body[i] = values[i] as number;
    else body.writeFloatBE(values[i] as number, 4 * i);
  }
  return Buffer.concat([header, body]);
}

export { gzipSync };

export interface TempDir {
  readonly path: string;
  write(name: string, content: string | Uint8Array): string;
  remove(): void;
}

export function tempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'gradmesh-data-'));
  return {
    path,
    write(name, content) {
      const file = join(path, name);
      writeFileSync(file, content);
      return file;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Runs fn, expecting a DataError about `file` whose message contains every fragment. */
export function expectDataError(fn: () => unknown, file: string, ...fragments: string[]): DataError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(DataError);
  const error = thrown as DataError;
  expect(error.file).toBe(file);
  expect(error.message).toContain(file);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}
