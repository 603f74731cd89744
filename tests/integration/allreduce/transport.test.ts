import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../shared/src/random.js';
import {
  directWritesInstalled,
  directWritesStatus,
  installDirectWrites,
  installReceivedPayloads,
  isRecycledPayload,
  publishParts,
  receivedPayloadsInstalled,
  receivedPayloadStats,
  releasePayload,
  whenWritten,
} from '../../../transport/src/index.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

/**
 * The worker's NATS transport wrappers on a real server: what arrives is byte for byte what was published,
 * with recycled receive buffers and direct writes installed on both connections, and a buffer reused as soon as `whenWritten` says so never
 * changes a message already published from it.
 */
let nats: NatsHandle;
let sender: NatsConnection;
let receiver: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  [sender, receiver] = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
  for (const nc of [sender, receiver]) {
    expect(installReceivedPayloads(nc)).toBe(true);
    expect(installDirectWrites(nc)).toBe(true);
  }
});

afterAll(async () => {
  await sender?.close();
  await receiver?.close();
  await nats?.stop();
});

function pattern(size: number, seed: number): Uint8Array {
  const r = new Random(seed);
  const m = new Uint8Array(size);
  for (let i = 0; i < size; i += 61) m[i] = Math.floor(r.next() * 256);
  return m;
}

/** Collects `count` messages on `subject` (copies; recycled payloads are released). */
async function collect(subject: string, count: number, publish: () => void | Promise<void>): Promise<{ data: Uint8Array; recycled: boolean; offset: number }[]> {
  const got: { data: Uint8Array; recycled: boolean; offset: number }[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const sub = receiver.subscribe(subject, {
    callback: (_err, msg) => {
      const recycled = isRecycledPayload(msg.data);
      got.push({ data: msg.data.slice(), recycled, offset: msg.data.byteOffset });
      if (recycled) releasePayload(msg.data);
      if (got.length === count) done();
    },
  });
  await receiver.flush();
  await publish();
  await sender.flush();
  await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${got.length}/${count} messages arrived`)), 20_000))]);
  sub.unsubscribe();
  return got;
}

describe('NATS transport wrappers (recycled receive buffers, direct writes) on a real server', () => {
  it('messages of 0 B to 1 MiB arrive byte for byte; large ones in recycled buffers at offset 0', async () => {
    const sizes = [0, 1, 4096, 131_071, 131_072, 131_075, 700_001, (1 << 20) - 64];
    const messages = sizes.map((s, i) => pattern(s, i + 1));
    const got = await collect('t.transport.sizes', sizes.length, () => messages.forEach((m) => sender.publish('t.transport.sizes', m)));
    got.forEach((g, i) => expect(Buffer.compare(g.data, messages[i]!), `message of ${sizes[i]} bytes`).toBe(0));
    const recycled = got.filter((g) => g.recycled);
    expect(recycled.length).toBeGreaterThan(0);
    for (const g of recycled) expect(g.offset).toBe(0);
    expect(receivedPayloadsInstalled(receiver)).toBe(true);
    expect(receivedPayloadStats().status).toBe('available');
  });

  it('publishParts sends the concatenation of its parts, as one message', async () => {
    const header = pattern(16, 7);
    const body = pattern(500_000, 8);
    const view = body.subarray(1000, 400_000);
    const [g] = await collect('t.transport.parts', 1, () => publishParts(sender, 't.transport.parts', [header, view]));
    expect(Buffer.compare(g!.data, Buffer.concat([header, view]))).toBe(0);
    expect(directWritesInstalled(sender)).toBe(true);
    expect(directWritesStatus()).toBe('available');
  });

  it('a buffer overwritten as soon as whenWritten fires never changes a message published from it (200 × 256 KiB)', async () => {
    const count = 200;
    const size = 256 << 10;
    const free: Uint8Array[] = [];
    let allocated = 0;
    const expected: Uint8Array[] = [];
    const got = await collect('t.transport.reuse', count, async () => {
      for (let i = 0; i < count; i++) {
        let frame = free.pop();
        if (frame === undefined) {
          frame = new Uint8Array(size);
          allocated++;
        }
        frame.fill(i & 0xff);
        frame[0] = i >> 8;
        expected.push(frame.slice());
        const f = frame;
        whenWritten(sender, f, () => {
          f.fill(0xee); // scribble: if the socket still read it, the receiver would see 0xee
          free.push(f);
        });
        publishParts(sender, 't.transport.reuse', [f]);
        if (i % 16 === 15) await new Promise((r) => setImmediate(r));
      }
    });
    got.forEach((g, i) => expect(Buffer.compare(g.data, expected[i]!), `message ${i}`).toBe(0));
    // Buffers did come back for reuse (otherwise the test would prove nothing).
    expect(allocated).toBeLessThan(count);
  });

  it('are installed per connection: another connection of the same process keeps the stock client', async () => {
    const plain = await connect({ servers: nats!.url });
    try {
      expect(receivedPayloadsInstalled(plain)).toBe(false);
      expect(directWritesInstalled(plain)).toBe(false);
      const message = pattern(700_001, 9);
      let arrived: (m: { data: Uint8Array; recycled: boolean }) => void = () => undefined;
      const got = new Promise<{ data: Uint8Array; recycled: boolean }>((resolve) => (arrived = resolve));
      const sub = plain.subscribe('t.transport.plain', { max: 1, callback: (_err, msg) => arrived({ data: msg.data.slice(), recycled: isRecycledPayload(msg.data) }) });
      await plain.flush();
      publishParts(sender, 't.transport.plain', [message]);
      await sender.flush();
      const g = await got;
      sub.unsubscribe();
      expect(Buffer.compare(g.data, message)).toBe(0);
      expect(g.recycled).toBe(false);
    } finally {
      await plain.close();
    }
  });
});
