import type { NatsConnection } from '@nats-io/transport-node';
import { DataBuffer, ProtocolHandler } from '@nats-io/nats-core/internal';
import { ClusterError } from '@gradmesh/shared/internal';

/**
 * Note [publishing large messages without copies]
 * The NATS client (@nats-io/nats-core 3.4) queues a publish as [`PUB <subject> <size>\r\n`, payload, `\r\n`]
 * and, when it flushes, concatenates everything queued into one new buffer for `socket.write`: a fresh
 * allocation and a full copy of every published byte, on top of the copy the sender already made to build
 * its frame. The all-reduce publishes most of what it moves.
 *
 * `installDirectWrites(nc)` wraps `flushPending` of that one connection's protocol handler (an own property on
 * the instance; the prototype, and so every other connection of the process, keeps the client's code): when
 * at least LARGE bytes are queued, it hands the queued buffers to the socket as they are (corked, so Node
 * writes them with one writev), and calls the callbacks registered with `whenWritten` once the socket has
 * written them. Smaller flushes take the client's own path. `publishParts` then publishes a message given as
 * several buffers (a 16-byte piece header and a view of the gradient itself), so a reduce-scatter piece goes
 * from the caller's vector to the kernel without any copy in JavaScript.
 *
 * The price is ownership: a buffer passed to `publishParts` (or to `nc.publish`) is read by the socket
 * until it is written, which may be after the publishing call returns. `whenWritten(nc, buffer, cb)` tells
 * when; without the wrapper the client copies at flush time, at the latest at the end of the current
 * microtask queue, so callbacks registered then run from the next macrotask on — the same contract either way.
 *
 * Internals used (nats-core 3.4, the exact version every package pins): ProtocolHandler's `infoReceived`,
 * `connected`, `outbound` (a DataBuffer: `buffers`, `byteLength`), `transport.socket`, `sendCommand`,
 * `outBytes`, `outMsgs`, `info.max_payload`. Before the first install the wrapper is driven once over a fake
 * socket (`selfTest`); if the internals differ it leaves every connection untouched and says why
 * (`directWritesStatus`), and `publishParts` then copies into one buffer and uses the public `publish`.
 */

/** Flushes of at least this many bytes bypass the client's concatenation. */
const LARGE = 64 << 10;
const CRLF = new Uint8Array([13, 10]);

interface OutboundInternals {
  buffers: Uint8Array[];
  byteLength: number;
  size(): number;
}
interface SocketLike {
  cork(): void;
  uncork(): void;
  write(b: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  destroyed: boolean;
}
interface ProtocolInternals {
  infoReceived: boolean;
  connected: boolean;
  outbound: OutboundInternals;
  transport: { socket?: SocketLike; send?(b: Uint8Array): void } | undefined;
  info?: { max_payload?: number };
  outBytes: number;
  outMsgs: number;
  flushPending(): void;
  sendCommand(cmd: string, ...payloads: Uint8Array[]): void;
}

/** Callbacks of `whenWritten`, by buffer: one table per connection with direct writes. */
type Watchers = WeakMap<Uint8Array, () => void>;

const installedOn = new WeakMap<ProtocolInternals, Watchers>();
/** The process-wide outcome of the checks that come before any install (environment, self-test). */
let status: 'not-checked' | 'available' | string = 'not-checked';

function protocolOf(nc: NatsConnection): ProtocolInternals | undefined {
  return (nc as unknown as { protocol?: ProtocolInternals }).protocol;
}

/** Whether direct writes can be installed in this process (`available`), or why not. */
export function directWritesStatus(): string {
  return status;
}

/** Whether `nc` flushes large writes directly (so published buffers are held until written). */
export function directWritesInstalled(nc: NatsConnection): boolean {
  const protocol = protocolOf(nc);
  return protocol !== undefined && installedOn.has(protocol);
}

/**
 * Calls `done` once the client of `nc` no longer reads `buffer` (a buffer about to be published on `nc`, or a
 * part of one — register BEFORE publishing, since the client may flush inside the publish call): when the
 * socket has written it (direct writes), else from the next macrotask on (the client copied it when flushing).
 * `done` is not called if the connection is lost first; the buffer is then simply never reused.
 */
export function whenWritten(nc: NatsConnection, buffer: Uint8Array, done: () => void): void {
  const protocol = protocolOf(nc);
  const watchers = protocol === undefined ? undefined : installedOn.get(protocol);
  if (watchers !== undefined) watchers.set(buffer, done);
  else setImmediate(done);
}

/**
 * Publishes one message whose payload is the concatenation of `parts` (total ≤ the server's max_payload). With
 * direct writes nothing is copied: every part must stay unchanged until it is written (see `whenWritten`).
 */
export function publishParts(nc: NatsConnection, subject: string, parts: readonly Uint8Array[]): void {
  const protocol = protocolOf(nc);
  let size = 0;
  for (const p of parts) size += p.length;
  if (protocol === undefined || !installedOn.has(protocol)) {
    const joined = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    nc.publish(subject, joined);
    return;
  }
  const maxPayload = protocol.info?.max_payload;
  if (maxPayload !== undefined && size > maxPayload) throw new ClusterError(`cannot publish on ${subject}: a ${size}-byte message exceeds the server's max_payload of ${maxPayload} bytes`);
  if (nc.isClosed()) throw new ClusterError(`cannot publish on ${subject}: the NATS connection is closed`);
  protocol.outBytes += size;
  protocol.outMsgs++;
  protocol.sendCommand(`PUB ${subject} ${size}\r\n`, ...parts, CRLF);
}

/**
 * Installs the flush wrapper on `nc` (idempotent); false when it cannot — turned off by
 * GRADMESH_DIRECT_WRITES=off, or the client's internals failed the self-test (`directWritesStatus` says which).
 */
export function installDirectWrites(nc: NatsConnection): boolean {
  const protocol = protocolOf(nc);
  if (protocol !== undefined && installedOn.has(protocol)) return true;
  if (!checkAvailable()) return false;
  if (protocol === undefined || typeof protocol.flushPending !== 'function' || typeof protocol.sendCommand !== 'function') return false;
  const watchers: Watchers = new WeakMap();
  protocol.flushPending = wrapFlushPending(protocol.flushPending, watchers);
  installedOn.set(protocol, watchers);
  return true;
}

function checkAvailable(): boolean {
  if (status === 'not-checked') {
    if (process.env['GRADMESH_DIRECT_WRITES'] === 'off') status = 'turned off by GRADMESH_DIRECT_WRITES=off';
    else {
      const problem = selfTest();
      status = problem === undefined ? 'available' : `nats-core flush self-test failed (${problem}); publishing with the client's copies`;
    }
  }
  return status === 'available';
}

/** `flushPending` that writes large flushes buffer by buffer (the note above), reporting written buffers to `watchers`. */
function wrapFlushPending(original: (this: ProtocolInternals) => void, watchers: Watchers): (this: ProtocolInternals) => void {
  return function (this: ProtocolInternals): void {
    const outbound = this.outbound;
    const socket = this.transport?.socket;
    if (
      !this.infoReceived ||
      !this.connected ||
      socket === undefined ||
      socket.destroyed ||
      !Array.isArray(outbound?.buffers) ||
      outbound.byteLength < LARGE ||
      outbound.buffers.length < 2
    ) {
      // The client's own path concatenates (copies) what is queued: watched buffers are free once it returns.
      const queued = Array.isArray(outbound?.buffers) ? outbound.buffers.slice() : [];
      original.call(this);
      for (const b of queued) {
        const done = watchers.get(b);
        if (done === undefined) continue;
        watchers.delete(b);
        setImmediate(done);
      }
      return;
    }
    const buffers = outbound.buffers.splice(0);
    outbound.byteLength = 0;
    socket.cork();
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i] as Uint8Array;
      const done = watchers.get(b);
      if (done === undefined) {
        socket.write(b);
        continue;
      }
      watchers.delete(b);
      socket.write(b, (err) => {
        if (err === undefined || err === null) done();
      });
    }
    socket.uncork();
  };
}

/**
 * Note [the flush wrapper's self-test]
 * Drives the wrapper over the client's own DataBuffer and `ProtocolHandler.prototype.flushPending`, with a
 * fake socket that records what it is given, through both paths:
 *   - large: two queued messages (one payload a view at an offset) must reach the socket as the very buffers
 *     queued (no copy), in order, between balanced cork/uncork, and their bytes must equal the concatenation of
 *     what was queued; the outbound buffer must be empty afterwards; a watched payload's callback must run only
 *     from the socket's write callback, exactly once;
 *   - small: a flush under LARGE must take the client's path (one `transport.send` of the concatenation,
 *     nothing written to the socket directly).
 * Returns what went wrong, if anything.
 */
function selfTest(): string | undefined {
  try {
    const proto = ProtocolHandler.prototype as unknown as ProtocolInternals;
    if (typeof proto.flushPending !== 'function' || typeof proto.sendCommand !== 'function') return 'ProtocolHandler internals not found';
    return checkLargeFlush(proto.flushPending) ?? checkSmallFlush(proto.flushPending);
  } catch (error) {
    return (error as Error).message;
  }
}

function checkLargeFlush(original: (this: ProtocolInternals) => void): string | undefined {
  const fake = new FakeProtocol();
  const watchers: Watchers = new WeakMap();
  const big = pattern(LARGE + 17, 3);
  const view = pattern(LARGE + 1000, 5).subarray(13, 13 + LARGE / 2);
  const queued = [ascii(`PUB a ${big.length}\r\n`), big, CRLF, ascii(`PUB b ${view.length}\r\n`), view, CRLF];
  fake.queue(queued);
  let calls = 0;
  watchers.set(big, () => void calls++);
  wrapFlushPending(original, watchers).call(fake.protocol);
  if (fake.written.length !== queued.length || fake.written.some((b, i) => b !== queued[i])) return 'large flush did not write the queued buffers themselves';
  if (Buffer.compare(Buffer.concat(fake.written), Buffer.concat(queued)) !== 0) return 'bytes written differ from the bytes queued';
  if (fake.corks !== 1 || fake.uncorks !== 1) return `cork/uncork ${fake.corks}/${fake.uncorks}, expected 1/1`;
  if (fake.queuedBytes() !== 0) return 'queued bytes left after a large flush';
  if (fake.sent.length > 0) return "large flush also took the client's path";
  const callsBeforeWrite = calls;
  for (const cb of fake.writeCallbacks) cb();
  if (callsBeforeWrite !== 0 || fake.writeCallbacks.length !== 1 || calls !== 1) return 'watcher not called exactly once, from the write callback';
  return undefined;
}

function checkSmallFlush(original: (this: ProtocolInternals) => void): string | undefined {
  const fake = new FakeProtocol();
  const small = [ascii('PUB c 3\r\n'), ascii('abc'), CRLF];
  fake.queue(small);
  wrapFlushPending(original, new WeakMap()).call(fake.protocol);
  if (fake.written.length > 0) return 'small flush wrote to the socket directly';
  const [sent] = fake.sent;
  if (fake.sent.length !== 1 || sent === undefined || Buffer.compare(sent, Buffer.concat(small)) !== 0) return "small flush did not send the concatenation through the client's path";
  if (fake.queuedBytes() !== 0) return 'queued bytes left after a small flush';
  return undefined;
}

/** A connected protocol handler as the flush sees it: the client's own DataBuffer, a socket that records. */
class FakeProtocol {
  readonly written: Uint8Array[] = [];
  readonly writeCallbacks: (() => void)[] = [];
  /** What the client's own path sent (copied: the client may reuse its buffer). */
  readonly sent: Uint8Array[] = [];
  corks = 0;
  uncorks = 0;
  readonly #outbound = new DataBuffer();
  readonly protocol: ProtocolInternals;

  constructor() {
    const socket: SocketLike = {
      destroyed: false,
      cork: () => void this.corks++,
      uncork: () => void this.uncorks++,
      write: (b, cb) => {
        this.written.push(b);
        if (cb !== undefined) this.writeCallbacks.push(() => cb(null));
        return true;
      },
    };
    const transport = { socket, send: (b: Uint8Array) => void this.sent.push(b.slice()) };
    this.protocol = { infoReceived: true, connected: true, outbound: this.#outbound, transport } as unknown as ProtocolInternals;
  }

  queue(buffers: Uint8Array[]): void {
    const [first, ...rest] = buffers;
    if (first !== undefined) this.#outbound.fill(first, ...rest);
  }

  queuedBytes(): number {
    return this.#outbound.byteLength + this.#outbound.size();
  }
}

function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

function pattern(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed * 17) & 0xff;
  return b;
}
