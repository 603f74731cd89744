import { spawnSync } from 'node:child_process';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../shared/src/random.js';
import { installDirectWrites, installReceivedPayloads, installSocketReads, isRecycledPayload, releasePayload, socketReadsInstalled, socketReadsStatus } from '../../../transport/src/index.js';
import { READ_BYTES, switchReads, type ParserLike } from '../../../transport/src/nats-client-patches/socket-reads.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

/**
 * Socket reads into one reused buffer (transport/src/nats-client-patches/socket-reads.ts) on a real server: no
 * message is lost, corrupted or reordered — small and large, whole in one read or split across several — and
 * messages a subscriber keeps (an iterator, read only after everything arrived, i.e. after the buffer was
 * overwritten many times) still hold their own bytes, subject, reply and headers.
 */
let nats: NatsHandle;
let sender: NatsConnection;
let receiver: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  [sender, receiver] = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
  installReceivedPayloads(receiver);
  installDirectWrites(sender);
  expect(await installSocketReads(receiver)).toBe(true);
});

afterAll(async () => {
  await sender?.close();
  await receiver?.close();
  await nats?.stop();
});

function pattern(size: number, seed: number): Uint8Array {
  const r = new Random(seed);
  const m = new Uint8Array(size);
  for (let i = 0; i < size; i++) m[i] = (Math.floor(r.next() * 256) + i) & 0xff;
  return m;
}

// Sizes around the read size, the recycling threshold (128 KiB) and a gradient piece (1 MiB), in a sequence that
// lands message boundaries at ever different offsets of the reads.
const SIZES = [0, 1, 7, 100, 4096, 65_535, 65_536, 131_071, 131_072, READ_BYTES - 100, READ_BYTES, READ_BYTES + 1, 300_001, (1 << 20) - 64, (1 << 20) - 300, 3, 50_000]; // ≤ max_payload (1 MiB) with a header;

interface Sent {
  readonly subject: string;
  readonly reply: string | undefined;
  readonly data: Uint8Array;
  readonly header: string | undefined;
}

function messages(rounds: number, prefix: string): Sent[] {
  const out: Sent[] = [];
  for (let r = 0; r < rounds; r++) {
    SIZES.forEach((size, i) => {
      const k = r * SIZES.length + i;
      out.push({ subject: `${prefix}.${k % 5}.s${'s'.repeat(k % 40)}`, reply: k % 3 === 0 ? `reply.${k}` : undefined, data: pattern(size, k + 1), header: k % 4 === 1 ? `value-${k}` : undefined });
    });
  }
  return out;
}

function publishAll(all: readonly Sent[]): void {
  for (const m of all) {
    const h = m.header === undefined ? undefined : headers();
    if (h !== undefined) h.set('X-Test', m.header as string);
    sender.publish(m.subject, m.data, { ...(m.reply === undefined ? {} : { reply: m.reply }), ...(h === undefined ? {} : { headers: h }) });
  }
}

/** Each received message's subject, reply, header and bytes, read only when called (after everything arrived). */
function describeMsg(m: Msg): Sent {
  return { subject: m.subject, reply: m.reply === '' ? undefined : m.reply, data: m.data.slice(), header: m.headers?.get('X-Test') || undefined };
}

function expectSame(got: readonly Sent[], sent: readonly Sent[]): void {
  expect(got.length).toBe(sent.length);
  got.forEach((g, i) => {
    const s = sent[i] as Sent;
    expect([g.subject, g.reply, g.header, g.data.length], `message ${i}`).toEqual([s.subject, s.reply, s.header, s.data.length]);
    expect(Buffer.compare(g.data, s.data), `message ${i} (${s.data.length} bytes): payload`).toBe(0);
  });
}

/** Receives `count` messages on `${prefix}.>` with an iterator, keeping each Msg unread until all have arrived. */
async function receiveKept(nc: NatsConnection, prefix: string, sent: readonly Sent[], describe: (m: Msg) => Sent = describeMsg): Promise<Sent[]> {
  const sub = nc.subscribe(`${prefix}.>`, { max: sent.length });
  await nc.flush();
  publishAll(sent);
  await sender.flush();
  const kept: Msg[] = [];
  for await (const m of sub) kept.push(m);
  return kept.map(describe);
}

describe('socket reads into a reused buffer, on a real server', () => {
  it('passed its self-test and is installed on this connection only', async () => {
    expect(socketReadsStatus()).toBe('available');
    expect(socketReadsInstalled(receiver)).toBe(true);
    expect(socketReadsInstalled(sender)).toBe(false);
  });

  it('delivers 0 B – 1 MiB messages (with reply subjects and headers) in order and byte for byte to a callback', async () => {
    const sent = messages(3, 't.reads.cb');
    const got: Sent[] = [];
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const sub = receiver.subscribe('t.reads.cb.>', {
      callback: (_err, m) => {
        got.push(describeMsg(m));
        if (isRecycledPayload(m.data)) releasePayload(m.data);
        if (got.length === sent.length) done();
      },
    });
    await receiver.flush();
    publishAll(sent);
    await sender.flush();
    await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${got.length}/${sent.length} arrived`)), 30_000))]);
    sub.unsubscribe();
    expectSame(got, sent);
  });

  it('messages kept past their callback (an iterator read after all arrived) still hold their own bytes, subjects and headers', async () => {
    const sent = messages(3, 't.reads.kept');
    expectSame(await receiveKept(receiver, 't.reads.kept', sent), sent);
  });

  it('request and reply work over it (the reply subject of a message parsed from the reused buffer)', async () => {
    const service = receiver.subscribe('t.reads.echo', { callback: (_err, m) => void m.respond(m.data) });
    await receiver.flush();
    for (const size of [5, 70_000, 400_000]) {
      const body = pattern(size, size);
      const answer = await sender.request('t.reads.echo', body, { timeout: 10_000 });
      expect(Buffer.compare(answer.data, body), `${size} bytes`).toBe(0);
    }
    service.unsubscribe();
  });

  it('negative control: the same switch WITHOUT copying out what points into the read buffer corrupts kept messages', async () => {
    const plain = await connect({ servers: nats.url });
    try {
      const protocol = (plain as unknown as { protocol: { transport: { socket: import('node:net').Socket; yields: Uint8Array[] }; parser: ParserLike } }).protocol;
      expect(switchReads(protocol.transport.socket, protocol.parser, protocol.transport, false)).toBe(true);
      const sent = messages(2, 't.reads.nocopy');
      // Overwritten header bytes can make the client's header parser throw; that is corruption too (CI saw it once).
      const unreadable: Sent = { subject: '<unreadable>', reply: undefined, data: new Uint8Array(0), header: undefined };
      const tolerant = (m: Msg): Sent => { try { return describeMsg(m); } catch { return unreadable; } };
      const got = await receiveKept(plain, 't.reads.nocopy', sent, tolerant);
      const differing = got.filter((g, i) => g === unreadable || g.subject !== sent[i]?.subject || Buffer.compare(g.data, (sent[i] as Sent).data) !== 0);
      expect(differing.length).toBeGreaterThan(0);
    } finally {
      await plain.close();
    }
  });

  it('switchReads refuses a socket without user-buffer slots, touching nothing', () => {
    const fake = { _handle: {} } as unknown as import('node:net').Socket;
    const parser = { dispatcher: { push: () => undefined }, parse: () => undefined } as ParserLike;
    const dispatcher = parser.dispatcher;
    expect(switchReads(fake, parser, {})).toBe(false);
    expect(parser.dispatcher).toBe(dispatcher);
  });

  it('GRADMESH_SOCKET_READS=off leaves the client reading its own way and says so', () => {
    const script = `
      import { connect } from '@nats-io/transport-node';
      import { installSocketReads, socketReadsInstalled, socketReadsStatus } from '@gradmesh/transport';
      const nc = await connect({ servers: ${JSON.stringify(nats.url)} });
      console.log(JSON.stringify({ installed: await installSocketReads(nc), on: socketReadsInstalled(nc), status: socketReadsStatus() }));
      await nc.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)), encoding: 'utf8', timeout: 30_000, env: { ...process.env, GRADMESH_SOCKET_READS: 'off' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ installed: false, on: false, status: 'turned off by GRADMESH_SOCKET_READS=off' });
  });
});
