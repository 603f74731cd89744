import type { NatsConnection } from '@nats-io/transport-node';
import { ProtocolHandler } from '@nats-io/nats-core/internal';

/**
 * Note [publishing large messages without copies]
 * The NATS client (@nats-io/nats-core 3.4) queues a publish as [`PUB <subject> <size>\r\n`, payload, `\r\n`]
 * and, when it flushes, concatenates everything queued into one new buffer for `socket.write`: a fresh
 * allocation and a full copy of every published byte, on top of the copy the sender already made to build
 * its frame. The all-reduce publishes most of what it moves.
 *
 * `installDirectWrites` wraps `ProtocolHandler.prototype.flushPending`: when at least LARGE bytes are queued,
 * it hands the queued buffers to the socket as they are (corked, so Node writes them with one writev), and
 * calls the callbacks registered with `whenWritten` once the socket has written them. Smaller flushes take the
 * client's own path. `publishParts` then publishes a message given as several buffers (a 16-byte piece header
 * and a view of the gradient itself), so a reduce-scatter piece goes from the caller's vector to the kernel
 * without any copy in JavaScript.
 *
 * The price is ownership: a buffer passed to `publishParts` (or to `nc.publish`) is read by the socket
 * until it is written, which may be after the publishing call returns. `whenWritten(buffer, cb)` tells when;
 * without the wrapper the client copies at flush time, at the latest at the end of the current microtask queue,
 * so callbacks registered then run from the next macrotask on — the same contract either way.
 *
 * Internals used (nats-core 3.4, pinned by the worker): ProtocolHandler's `infoReceived`, `connected`,
 * `outbound` (a DataBuffer: `buffers`, `byteLength`), `transport.socket`, `sendCommand`, `outBytes`, `outMsgs`,
 * `info.max_payload`. Missing internals leave the client untouched (status says why), and `publishParts`
 * then copies into one buffer and uses the public `publish`.
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
  transport: { socket?: SocketLike } | undefined;
  info?: { max_payload?: number };
  outBytes: number;
  outMsgs: number;
  flushPending(): void;
  sendCommand(cmd: string, ...payloads: Uint8Array[]): void;
}

const watchers = new WeakMap<Uint8Array, () => void>();
let status: 'not-installed' | 'installed' | string = 'not-installed';

/** Whether flushes write published buffers directly (so they are held until written). */
export function directWritesStatus(): { installed: boolean; status: string } {
  return { installed: status === 'installed', status };
}

/**
 * Calls `done` once the client no longer reads `buffer` (a buffer about to be published, or a part of one —
 * register BEFORE publishing, since the client may flush inside the publish call): when the
 * socket has written it (direct writes), else from the next macrotask on (the client copied it when flushing).
 * `done` is not called if the connection is lost first; the buffer is then simply never reused.
 */
export function whenWritten(buffer: Uint8Array, done: () => void): void {
  if (status === 'installed') watchers.set(buffer, done);
  else setImmediate(done);
}

/**
 * Publishes one message whose payload is the concatenation of `parts` (total ≤ the server's max_payload). With
 * direct writes nothing is copied: every part must stay unchanged until it is written (see `whenWritten`).
 */
export function publishParts(nc: NatsConnection, subject: string, parts: readonly Uint8Array[]): void {
  const protocol = (nc as unknown as { protocol?: ProtocolInternals }).protocol;
  let size = 0;
  for (const p of parts) size += p.length;
  if (status !== 'installed' || protocol === undefined || typeof protocol.sendCommand !== 'function') {
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
  if (maxPayload !== undefined && size > maxPayload) throw new RangeError(`a ${size}-byte message exceeds the server's max_payload of ${maxPayload} bytes`);
  if (nc.isClosed()) throw new Error('the NATS connection is closed');
  protocol.outBytes += size;
  protocol.outMsgs++;
  protocol.sendCommand(`PUB ${subject} ${size}\r\n`, ...parts, CRLF);
}

/** Installs the flush wrapper once per process (idempotent); false (reason in the status) when it cannot. */
export function installDirectWrites(): boolean {
  if (status === 'installed') return true;
  if (status !== 'not-installed') return false;
  if (process.env['GRADMESH_DIRECT_WRITES'] === 'off') {
    status = 'turned off by GRADMESH_DIRECT_WRITES=off';
    return false;
  }
  const proto = ProtocolHandler.prototype as unknown as ProtocolInternals;
  const original = proto.flushPending;
  if (typeof original !== 'function' || typeof proto.sendCommand !== 'function') {
    status = 'nats-core ProtocolHandler internals not found';
    return false;
  }
  proto.flushPending = function (this: ProtocolInternals): void {
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
  status = 'installed';
  return true;
}
