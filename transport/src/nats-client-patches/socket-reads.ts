import { createConnection, createServer, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kind, Parser } from '@nats-io/nats-core/internal';
import { copyIntoRecycled } from './received-payloads.js';

/**
 * Note [socket reads into one reused buffer]
 * Node reads a socket into a NEW 64 KiB off-heap buffer per read and emits it as a 'data' event; the NATS client
 * (@nats-io/transport-node 3.4) queues each one and its reader loop hands it to the parser a few microtasks later.
 * The parser copies what it keeps, so every read buffer is garbage as soon as it is parsed: a rank of a 40 MB
 * all-reduce drops ≈ 40 MB of them, and V8 answers that external-memory growth with scavenges and full
 * mark-compacts ("external memory pressure" in --trace-gc) — a fifth to two fifths of a rank's CPU.
 *
 * `installSocketReads(nc)` switches that one connection's socket to Node's user-buffer reads (the `onread`
 * option of net.Socket, applied to the open socket: the socket's `kBuffer`/`kBufferCb` slots and its handle's
 * `useUserBuffer`) with one buffer of READ_BYTES (32 KiB) per connection, and parses every read synchronously in
 * the read callback, before the next read can overwrite the buffer. What the parser would hand on as views of the read
 * buffer is copied out first (Note [what may point into a read]); everything else it keeps it already copies.
 *
 * Order: the client's reader loop consumes queued reads in microtasks, and Node drains microtasks after every
 * I/O callback, so when a read callback runs nothing older should still be queued; if something is, the read is
 * queued behind it as a copy, the client's way, so order holds regardless.
 *
 * An exception out of `parse` (a corrupt stream, or a subscriber's callback that throws: the client calls them
 * from the parser) ends the client's reader loop and leaves the connection dead until its heartbeats notice;
 * here it destroys the socket with that error instead, so the client reconnects at once.
 *
 * Internals used: Node's net.Socket slots named kBuffer and kBufferCb and `_handle.useUserBuffer` (Node 20–22);
 * the client's `protocol.transport` (`socket`, `yields`, `signal`) and `protocol.parser` (`parse`, `dispatcher`)
 * of @nats-io/nats-core and transport-node 3.4, the exact versions every package pins. Before the first install a
 * self-test runs the whole switch over a real loopback socket (`selfTest`); if anything differs it leaves every
 * connection as the client made it and says why (`socketReadsStatus`). TLS sockets keep the client's reads; a
 * reconnect brings a new socket and parser, read the client's way until installed again (connectNats does after
 * every reconnect). `GRADMESH_SOCKET_READS=off` turns it off.
 */

/**
 * Bytes per read. Smaller is better here, not larger: the buffer stays in the core's cache, and every byte read
 * is copied out of it once. Measured 2026-11-30 (`reports/bench-allreduce/2026-11-30-cpu/read-size.txt`, 40 MB,
 * quiet machine, ranks' CPU per all-reduce at N = 4): 1 MiB 281–316 ms, 256 KiB 173–176, 128 KiB 146–153,
 * 64 KiB 138–141, 32 KiB 113–140, 16 KiB 130–137.
 */
export const READ_BYTES = 32 << 10;

/**
 * Note [what may point into a read]
 * The parser delivers an event as views of the buffer it was given: a MSG's payload when the whole message sits
 * in one read, its subject and reply (`msg.subject`, `msg.reply`, decoded lazily by the message object), and an
 * ERR's or INFO's text. A subscriber may keep a message past its callback (iterators queue them), so each of
 * those that points into the reused buffer is copied before the event is dispatched: payloads of at least
 * MIN_RECYCLED_BYTES into a recycled receive buffer (received-payloads.ts; released like any recycled payload),
 * smaller ones into a fresh copy. What the parser keeps between reads (a split control line, a payload in
 * progress) it already copies (DenoBuffer copies the view it is built from), or the received-payloads wrapper
 * moves into a recycled buffer.
 */
interface ParserEventLike {
  kind: number;
  data?: Uint8Array;
  msg?: { subject?: Uint8Array; reply?: Uint8Array };
}
interface Dispatcher {
  push(e: ParserEventLike): void;
}
export interface ParserLike {
  dispatcher: Dispatcher;
  parse(buf: Uint8Array): void;
}
interface TransportInternals {
  socket?: Socket;
  yields?: Uint8Array[];
  signal?: { resolve(): void };
}

const switchedSockets = new WeakSet<Socket>();
let status: 'not-checked' | 'available' | string = 'not-checked';
let checking: Promise<boolean> | undefined;

/** Whether socket reads can be switched in this process (`available`), or why not (after the first install). */
export function socketReadsStatus(): string {
  return status;
}

function internalsOf(nc: NatsConnection): { transport: TransportInternals | undefined; parser: ParserLike | undefined } {
  const protocol = (nc as unknown as { protocol?: { transport?: TransportInternals; parser?: ParserLike } }).protocol;
  return { transport: protocol?.transport, parser: protocol?.parser };
}

/** Whether `nc`'s current socket reads into a reused buffer. */
export function socketReadsInstalled(nc: NatsConnection): boolean {
  const socket = internalsOf(nc).transport?.socket;
  return socket !== undefined && switchedSockets.has(socket);
}

/**
 * Switches `nc`'s socket to reads into one reused buffer, parsed as they arrive (the note above); idempotent.
 * Resolves false, leaving the connection as it is, when turned off by GRADMESH_SOCKET_READS=off, when the
 * self-test failed (`socketReadsStatus` says why), on TLS, or when the connection is not open.
 */
export async function installSocketReads(nc: NatsConnection): Promise<boolean> {
  if (socketReadsInstalled(nc)) return true;
  if (!(await checkAvailable())) return false;
  const { transport, parser } = internalsOf(nc);
  const socket = transport?.socket;
  if (transport === undefined || parser === undefined || socket === undefined || socket.destroyed || nc.isClosed()) return false;
  if (socket instanceof TLSSocket) return false;
  if (!switchReads(socket, parser, transport)) return false;
  return true;
}

function checkAvailable(): Promise<boolean> {
  if (status !== 'not-checked') return Promise.resolve(status === 'available');
  checking ??= (async () => {
    if (process.env['GRADMESH_SOCKET_READS'] === 'off') {
      status = 'turned off by GRADMESH_SOCKET_READS=off';
      return false;
    }
    const problem = await selfTest();
    status = problem === undefined ? 'available' : `socket-read self-test failed (${problem}); reading the client's way`;
    return status === 'available';
  })();
  return checking;
}

/** The socket's own symbol-keyed slot named `name` (an own property every net.Socket has, null until used). */
function slot(socket: Socket, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
}

/**
 * Points `socket`'s reads at one reused buffer whose every read `parser` parses at once, copying out what would
 * point into it (`copyOut`: false only for the test that shows why it is needed). Returns false, touching
 * nothing, when the socket lacks the slots or the handle method. Exported for tests.
 */
export function switchReads(socket: Socket, parser: ParserLike, transport: TransportInternals, copyOut = true): boolean {
  const kBuffer = slot(socket, 'kBuffer');
  const kBufferCb = slot(socket, 'kBufferCb');
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  const record = socket as unknown as Record<symbol, unknown>;
  if (kBuffer === undefined || kBufferCb === undefined || record[kBuffer] !== null || record[kBufferCb] !== null) return false;
  if (handle === undefined || typeof handle.useUserBuffer !== 'function') return false;
  const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
  const reused = buffer.buffer;
  const dispatcher = parser.dispatcher;
  const copying: Dispatcher = {
    push(e: ParserEventLike): void {
      if (e.data !== undefined && e.data.buffer === reused) {
        e.data = e.kind === Kind.MSG ? copyIntoRecycled(e.data) : copyOf(e.data);
      }
      const msg = e.msg;
      if (msg !== undefined) {
        if (msg.subject !== undefined && msg.subject.buffer === reused) msg.subject = copyOf(msg.subject);
        if (msg.reply !== undefined && msg.reply.buffer === reused) msg.reply = copyOf(msg.reply);
      }
      dispatcher.push(e);
    },
  };
  if (copyOut) parser.dispatcher = copying;
  record[kBuffer] = buffer;
  record[kBufferCb] = (nread: number, buf: Uint8Array): void => {
    const read = buf.subarray(0, nread);
    const queued = transport.yields;
    if (queued !== undefined && queued.length > 0) {
      // Older reads still queued for the client's loop: queue this one behind them (a copy), in order.
      queued.push(copyOf(read));
      transport.signal?.resolve();
      return;
    }
    try {
      parser.parse(read);
    } catch (error) {
      socket.destroy(error as Error);
    }
  };
  handle.useUserBuffer(buffer);
  switchedSockets.add(socket);
  return true;
}

/** A copy of `view`'s bytes. (`slice` would not do: on a Buffer, which the reads are, it makes a view.) */
function copyOf(view: Uint8Array): Uint8Array {
  const copy = new Uint8Array(view.length);
  copy.set(view);
  return copy;
}

/**
 * Note [the socket-read self-test]
 * A loopback server writes a NATS byte stream to a client socket in pieces, with a pause between pieces so that
 * each is its own read (and some pieces larger than READ_BYTES, so that one piece is several reads): INFO, +OK,
 * PING, PONG, small MSGs several to a read, an HMSG with headers and a reply subject, a MSG whose control line is
 * split between reads, a 100 KB and a 300 KB MSG each split over reads, a MSG that fills most of one read, and
 * an -ERR. The first piece arrives through the socket's ordinary 'data' reads and the socket is switched after
 * it, as `installSocketReads` switches a live connection. Every event is kept and checked only at the end, after
 * later reads overwrote the reused buffer: kinds, subjects, replies and payload bytes must all be what was sent,
 * in order, and the reads after the switch must have come through the reused buffer.
 */
async function selfTest(): Promise<string | undefined> {
  const server = createServer();
  let client: Socket | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const port = (server.address() as { port: number }).port;
    const { pieces, expected } = selfTestStream();
    const events: { kind: number; subject: string; reply: string; data: Uint8Array | undefined }[] = [];
    const parser = new Parser({ push: () => undefined }) as unknown as ParserLike;
    parser.dispatcher = {
      push: (e) => {
        const d = new TextDecoder();
        events.push({ kind: e.kind, subject: e.msg?.subject ? d.decode(e.msg.subject) : '', reply: e.msg?.reply ? d.decode(e.msg.reply) : '', data: e.data });
      },
    };
    const transport: TransportInternals = { yields: [] };
    let switched = false;
    let ordinaryReads = 0;
    const done = new Promise<string | undefined>((resolve) => {
      server.once('connection', (peer: Socket) => {
        void (async () => {
          for (const piece of pieces) {
            if (!peer.write(piece)) await new Promise((r) => peer.once('drain', r));
            await new Promise((r) => setTimeout(r, 2));
          }
          peer.end();
        })();
      });
      client = createConnection(port, '127.0.0.1');
      client.on('data', (chunk: Buffer) => {
        ordinaryReads++;
        parser.parse(chunk);
        if (!switched && client !== undefined) {
          switched = true;
          if (!switchReads(client, parser, transport)) resolve('the socket has no user-buffer slots');
        }
      });
      client.on('error', (e) => resolve(e.message));
      client.on('end', () => resolve(undefined));
      setTimeout(() => resolve('timed out'), 5000);
    });
    const failure = await done;
    if (failure !== undefined) return failure;
    if (ordinaryReads !== 1) return `${ordinaryReads} 'data' reads, expected 1 before the switch and none after`;
    if (events.length !== expected.length) return `${events.length} events, expected ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const got = events[i];
      const want = expected[i];
      if (got === undefined || want === undefined) return `event ${i} missing`;
      if (got.kind !== want.kind || got.subject !== want.subject || got.reply !== want.reply) return `event ${i} is ${got.kind} ${got.subject} ${got.reply}, expected ${want.kind} ${want.subject} ${want.reply}`;
      if ((got.data === undefined) !== (want.data === undefined) || (got.data !== undefined && Buffer.compare(got.data, want.data as Uint8Array) !== 0)) return `event ${i}: payload differs (${got.data?.length} bytes ${Buffer.from(got.data ?? []).subarray(0, 8).toString("hex")}, expected ${want.data?.length} ${Buffer.from(want.data ?? []).subarray(0, 8).toString("hex")})`;
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client?.destroy();
    server.close();
  }
}

/** The self-test's byte stream, as the pieces the server writes, and the events the parser must deliver. */
function selfTestStream(): { pieces: Uint8Array[]; expected: { kind: number; subject: string; reply: string; data: Uint8Array | undefined }[] } {
  const enc = (s: string) => Buffer.from(s, 'latin1');
  const payload = (n: number, seed: number): Uint8Array => {
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] = (i * 131 + seed * 17 + (i >>> 8)) & 0xff;
    return p;
  };
  const msg = (subject: string, data: Uint8Array, reply = '') => Buffer.concat([enc(`MSG ${subject} 1 ${reply ? `${reply} ` : ''}${data.length}\r\n`), data, enc('\r\n')]);
  const expected: { kind: number; subject: string; reply: string; data: Uint8Array | undefined }[] = [];
  const small = [payload(0, 1), payload(1, 2), payload(90, 3), payload(4000, 4)];
  const mid = payload(100_000, 5);
  const large = payload(300_000, 6);
  const most = payload(READ_BYTES - 200, 7);
  const headers = enc('NATS/1.0\r\nk: v\r\n\r\n');
  const body = payload(50, 8);
  const hmsg = Buffer.concat([enc(`HMSG h.s 1 r.p ${headers.length} ${headers.length + body.length}\r\n`), headers, body, enc('\r\n')]);
  const split = msg('split.subject', payload(20, 9));
  const info = enc('INFO {"server_id":"self-test"}\r\n');
  const pieces: Uint8Array[] = [
    info,
    Buffer.concat([enc('+OK\r\nPING\r\nPONG\r\n'), ...small.map((d, i) => msg(`s.${i}`, d))]),
    hmsg,
    split.subarray(0, 7),
    split.subarray(7),
    msg('m.mid', mid),
    Buffer.concat([msg('m.large', large), msg('m.after', small[2] as Uint8Array, 'reply.to')]),
    msg('m.most', most),
    enc("-ERR 'self-test'\r\n"),
  ];
  expected.push({ kind: Kind.INFO, subject: '', reply: '', data: enc('{"server_id":"self-test"}') });
  expected.push({ kind: Kind.OK, subject: '', reply: '', data: undefined }, { kind: Kind.PING, subject: '', reply: '', data: undefined }, { kind: Kind.PONG, subject: '', reply: '', data: undefined });
  small.forEach((d, i) => expected.push({ kind: Kind.MSG, subject: `s.${i}`, reply: '', data: d }));
  expected.push({ kind: Kind.MSG, subject: 'h.s', reply: 'r.p', data: Buffer.concat([headers, body]) });
  expected.push({ kind: Kind.MSG, subject: 'split.subject', reply: '', data: payload(20, 9) });
  expected.push({ kind: Kind.MSG, subject: 'm.mid', reply: '', data: mid });
  expected.push({ kind: Kind.MSG, subject: 'm.large', reply: '', data: large });
  expected.push({ kind: Kind.MSG, subject: 'm.after', reply: 'reply.to', data: small[2] });
  expected.push({ kind: Kind.MSG, subject: 'm.most', reply: '', data: most });
  expected.push({ kind: Kind.ERR, subject: '', reply: '', data: enc("'self-test'") });
  return { pieces, expected };
}
