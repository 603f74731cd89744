import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { putAndPrune } from '../../../shared/src/checkpoint/checkpoint-store.js';
import { DirectoryCheckpointStore } from '../../../shared/src/checkpoint/directory-store.js';
import { encodeCheckpoint } from '../../../shared/src/checkpoint/format.js';
import { readLatestVerified } from '../../../shared/src/checkpoint/latest-verified.js';
import { checkpointFileName } from '../../../shared/src/checkpoint/naming.js';
import { checkpointStoreFromFlags, parseCheckpointStoreSpec } from '../../../shared/src/checkpoint/store-spec.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const bytes = (step: number) => encodeCheckpoint({ meta: { step }, tensors: [{ name: 'w', shape: [2], data: Float32Array.from([step, -step]) }] });

describe('DirectoryCheckpointStore', () => {
  it('stores atomic files named by step, keeps the last K when asked, and refuses names that are not checkpoint names', async () => {
    const dir = tempDir();
    const store = new DirectoryCheckpointStore(dir, { keepLast: 2 });
    for (const step of [5, 10, 15]) await putAndPrune(store, checkpointFileName(step), bytes(step));
    expect((await store.list()).map((c) => c.step)).toEqual([10, 15]);
    expect(readFileSync(path.join(dir, checkpointFileName(15))).equals(bytes(15))).toBe(true);
    await expect(store.put('../escape.safetensors', bytes(1))).rejects.toThrow(/is not a checkpoint name/);
    expect(store.location).toBe(`dir:${dir}`);
  });

  it('a corrupt newest checkpoint is reported in one line and the previous one is used; all corrupt throws the newest error', async () => {
    const dir = tempDir();
    const store = new DirectoryCheckpointStore(dir);
    await store.put(checkpointFileName(1), bytes(1));
    const bad = bytes(2);
    bad[bad.length - 1]! ^= 1;
    writeFileSync(path.join(dir, checkpointFileName(2)), bad);
    const lines: string[] = [];
    expect((await readLatestVerified(store, (l) => lines.push(l)))?.step).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ckpt-0000000002\.safetensors failed verification .*using the previous one, ckpt-0000000001\.safetensors/);
    writeFileSync(path.join(dir, checkpointFileName(1)), bad);
    await expect(readLatestVerified(store, () => undefined)).rejects.toThrow(/ckpt-0000000002\.safetensors/);
    expect(await readLatestVerified(new DirectoryCheckpointStore(path.join(dir, 'none')), () => undefined)).toBeUndefined();
  });
});

describe('--checkpoint-store', () => {
  it('accepts nats and dir:<path>; --checkpoint-dir D means dir:D; both at once, or anything else, is refused naming the flag', () => {
    expect(parseCheckpointStoreSpec('nats')).toEqual({ kind: 'nats' });
    expect(parseCheckpointStoreSpec('dir:ckpt')).toEqual({ kind: 'dir', dir: path.join(process.cwd(), 'ckpt') });
    expect(checkpointStoreFromFlags(undefined, 'd')).toEqual({ kind: 'dir', dir: path.join(process.cwd(), 'd') });
    expect(checkpointStoreFromFlags(undefined, undefined)).toBeUndefined();
    expect(() => parseCheckpointStoreSpec('s3://x')).toThrow(/--checkpoint-store.*must be "nats" or "dir:<path>"/);
    expect(() => parseCheckpointStoreSpec('dir:')).toThrow(/--checkpoint-store/);
    expect(() => checkpointStoreFromFlags('nats', 'd')).toThrow(/--checkpoint-dir.*cannot be combined with --checkpoint-store/);
  });
});
