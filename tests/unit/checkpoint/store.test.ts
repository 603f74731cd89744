import { promises as fsp } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckpointError, ConfigError, InternalError } from '../../../shared/src/errors.js';
import { encodeCheckpoint, type CheckpointContents } from '../../../shared/src/checkpoint/format.js';
import {
  checkpointFileName,
  latestCheckpoint,
  listCheckpoints,
  parseCheckpointStep,
  pruneCheckpoints,
  readCheckpoint,
  saveCheckpoint,
  writeCheckpointAtomic,
} from '../../../shared/src/checkpoint/store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gradmesh-ckpt-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const contents = (step: number): CheckpointContents => ({
  meta: { step },
  tensors: [{ name: 'w', shape: [2], data: Float32Array.from([step, -step]) }],
});

describe('checkpoint store', () => {
  it('names files ckpt-<step padded>.safetensors and parses them back', () => {
    expect(checkpointFileName(1200)).toBe('ckpt-0000001200.safetensors');
    expect(parseCheckpointStep('ckpt-0000001200.safetensors')).toBe(1200);
    expect(parseCheckpointStep('ckpt-123456789012.safetensors')).toBe(123456789012);
    expect(parseCheckpointStep('.ckpt-0000001200.safetensors.1-0.tmp')).toBeUndefined();
    expect(parseCheckpointStep('ckpt-12.json')).toBeUndefined();
    expect(() => checkpointFileName(-1)).toThrow(InternalError);
  });

  it('writes atomically and reads back, leaving no temporary behind', async () => {
    const file = path.join(dir, checkpointFileName(7));
    await writeCheckpointAtomic(file, contents(7));
    expect(await readdir(dir)).toEqual([checkpointFileName(7)]);
    const back = await readCheckpoint(file);
    expect(back.meta).toEqual({ step: 7 });
    expect(Array.from(back.tensors[0]!.data)).toEqual([7, -7]);
    // Overwriting replaces the whole file.
    await writeCheckpointAtomic(file, contents(8));
    expect((await readCheckpoint(file)).meta).toEqual({ step: 8 });
    expect(await readdir(dir)).toEqual([checkpointFileName(7)]);
  });

  it('a crash between the temporary write and the rename leaves the previous checkpoint intact', async () => {
    const file = path.join(dir, checkpointFileName(5));
    await writeCheckpointAtomic(file, contents(1));
    vi.spyOn(fsp, 'rename').mockRejectedValueOnce(Object.assign(new Error('simulated crash'), { code: 'EIO' }));
    await expect(writeCheckpointAtomic(file, contents(2))).rejects.toThrow(CheckpointError);
    expect((await readCheckpoint(file)).meta).toEqual({ step: 1 });
    expect(await readdir(dir)).toEqual([checkpointFileName(5)]);
  });

  it('a stale temporary from a crashed writer is never taken for a checkpoint', async () => {
    await saveCheckpoint(dir, 1, contents(1));
    const partial = encodeCheckpoint(contents(2)).subarray(0, 30);
    await writeFile(path.join(dir, `.${checkpointFileName(2)}.4242-0.tmp`), partial);
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([1]);
    const latest = await latestCheckpoint(dir);
    expect(latest?.step).toBe(1);
    expect((await readCheckpoint(latest!.path)).meta).toEqual({ step: 1 });
  });

  it('lists checkpoints by numeric step and prunes all but the newest keepLast', async () => {
    for (const step of [10, 9, 200]) await saveCheckpoint(dir, step, contents(step));
    await writeFile(path.join(dir, 'notes.txt'), 'not a checkpoint');
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([9, 10, 200]);
    await saveCheckpoint(dir, 300, contents(300), { keepLast: 2 });
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([200, 300]);
    expect((await readdir(dir)).sort()).toEqual([checkpointFileName(200), checkpointFileName(300), 'notes.txt']);
    expect(await pruneCheckpoints(dir, 1)).toEqual([path.join(dir, checkpointFileName(200))]);
    await expect(pruneCheckpoints(dir, 0)).rejects.toThrow(ConfigError);
  });

  it('an absent directory has no checkpoints', async () => {
    expect(await listCheckpoints(path.join(dir, 'nope'))).toEqual([]);
    expect(await latestCheckpoint(path.join(dir, 'nope'))).toBeUndefined();
  });

  it('reports a missing or corrupt file as a CheckpointError naming it', async () => {
    const missing = path.join(dir, 'ckpt-0000000001.safetensors');
    await expect(readCheckpoint(missing)).rejects.toThrow(`${missing}: does not exist`);
    const bytes = encodeCheckpoint(contents(3));
    bytes[bytes.length - 1]! ^= 0x80;
    await writeFile(missing, bytes);
    await expect(readCheckpoint(missing)).rejects.toThrow(/checksum mismatch/);
  });
});
