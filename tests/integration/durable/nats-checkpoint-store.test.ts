import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putAndPrune } from '../../../shared/src/checkpoint/checkpoint-store.js';
import { encodeCheckpoint } from '../../../shared/src/checkpoint/format.js';
import { readLatestVerified } from '../../../shared/src/checkpoint/latest-verified.js';
import { checkpointFileName } from '../../../shared/src/checkpoint/naming.js';
import { NatsObjectCheckpointStore } from '../../../transport/src/jetstream/nats-object-checkpoint-store.js';
import { RunStateStore } from '../../../transport/src/jetstream/run-state-store.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

/**
 * The run's durable state on a real nats-server with JetStream: checkpoints in an Object Store bucket (round
 * trip, keep-last-K, a corrupted newest one falls back to the previous) and the run-state KV (the record, and
 * worker registrations that expire without a refresh).
 */
let nats: NatsHandle;
let nc: NatsConnection;
let runs = 0;
const runId = () => `store-${process.pid}-${++runs}`;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** A checkpoint of `values` at `step` (the format's sha256 covers the tensor data). */
function checkpointBytes(step: number, values: number[]): Buffer {
  return encodeCheckpoint({ meta: { step }, tensors: [{ name: 'w', shape: [values.length], data: Float32Array.from(values) }] });
}

describe('NatsObjectCheckpointStore', () => {
  it('returns the bytes it stored, lists checkpoints oldest first and ignores other names; a large checkpoint spans many chunks', async () => {
    const store = await NatsObjectCheckpointStore.open(nc, runId());
    const big = checkpointBytes(7, Array.from({ length: 300_000 }, (_, i) => Math.sin(i)));
    await store.put(checkpointFileName(7), big);
    await store.put(checkpointFileName(3), checkpointBytes(3, [1, 2, 3]));
    expect(Buffer.from(await store.get(checkpointFileName(7))).equals(big)).toBe(true);
    expect((await store.list()).map((c) => c.step)).toEqual([3, 7]);
    await expect(store.put('../etc/passwd', big)).rejects.toThrow(/is not a checkpoint name/);
    await expect(store.get(checkpointFileName(99))).rejects.toThrow(/ckpt-0000000099\.safetensors: does not exist/);
    const latest = await readLatestVerified(store, () => undefined);
    expect(latest?.step).toBe(7);
    expect(latest?.contents.tensors[0]!.data.length).toBe(300_000);
  });

  it('keeps the last K checkpoints: saving 5 with K = 3 leaves steps 3, 4, 5', async () => {
    const store = await NatsObjectCheckpointStore.open(nc, runId(), { keepLast: 3 });
    for (let step = 1; step <= 5; step++) await putAndPrune(store, checkpointFileName(step), checkpointBytes(step, [step]));
    expect((await store.list()).map((c) => c.step)).toEqual([3, 4, 5]);
  });

  it('a newest checkpoint that fails its sha256 is reported in one line and the previous one is used; intact, the newest is used (control)', async () => {
    const store = await NatsObjectCheckpointStore.open(nc, runId());
    await store.put(checkpointFileName(10), checkpointBytes(10, [1, 2, 3, 4]));
    const newest = checkpointBytes(20, [5, 6, 7, 8]);
    await store.put(checkpointFileName(20), newest);
    const lines: string[] = [];
    expect((await readLatestVerified(store, (l) => lines.push(l)))?.step).toBe(20);
    expect(lines).toEqual([]);
    const corrupted = Buffer.from(newest);
    corrupted[corrupted.length - 2]! ^= 0x40; // a bit flip in the tensor data
    await store.put(checkpointFileName(20), corrupted);
    const used = await readLatestVerified(store, (l) => lines.push(l));
    expect(used?.step).toBe(10);
    expect(Array.from(used!.contents.tensors[0]!.data)).toEqual([1, 2, 3, 4]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ckpt-0000000020\.safetensors failed verification \(.*sha256.*\); using the previous one, ckpt-0000000010\.safetensors/);
  });
});

describe('RunStateStore', () => {
  it('reads back the last record; before any record there is none', async () => {
    const state = await RunStateStore.open(nc, runId());
    expect(await state.read()).toBeUndefined();
    await state.record({ generation: 1, world: 2, committedStep: 0, latestCheckpoint: null });
    await state.record({ generation: 1, world: 2, committedStep: 40, latestCheckpoint: checkpointFileName(40) });
    expect(await state.read()).toEqual({ generation: 1, world: 2, committedStep: 40, latestCheckpoint: 'ckpt-0000000040.safetensors' });
  });

  it('lists registered workers; a registration that is not refreshed expires, a refreshed one stays', async () => {
    const state = await RunStateStore.open(nc, runId(), { workerTtlMs: 1_500 });
    await state.registerWorker({ workerId: 'w0', pid: 11, host: 'a' });
    await state.registerWorker({ workerId: 'w1', pid: 12, host: 'b' });
    expect((await state.workers()).map((w) => w.workerId)).toEqual(['w0', 'w1']);
    const deadline = Date.now() + 15_000;
    let live = ['w0', 'w1'];
    while (live.includes('w1') && Date.now() < deadline) {
      await state.registerWorker({ workerId: 'w0', pid: 11, host: 'a' }); // w0's heartbeat
      await new Promise((r) => setTimeout(r, 300));
      live = (await state.workers()).map((w) => w.workerId);
    }
    expect(live).toEqual(['w0']);
  });
});
