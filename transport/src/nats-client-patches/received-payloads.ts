import type { NatsConnection } from '@nats-io/transport-node';
import { DenoBuffer, Parser, State } from '@nats-io/nats-core/internal';
import { ReceiveBufferRecycler } from './receive-buffer-recycler.js';

/**
 * Note [receiving large messages without regrowth]
 * The NATS client (@nats-io/nats-core 3.4) assembles a message that spans several socket reads (every 1 MiB
 * gradient piece: Node reads 64 KiB at a time) in a growable buffer that starts at the size of the first read
 * and doubles: about five allocations and two copies of every payload byte, all zero-filled and then left
 * to the garbage collector. In the all-reduce profile that regrowth plus the GC it caused was a third of a
 * rank's CPU time.
 *
 * The parser knows the message size from its MSG line before the payload arrives, so `installReceivedPayloads(nc)`
 * wraps `parse` of that connection's parser (an own property on the instance; other connections and the
 * prototype keep the client's code): when a parse ends inside a payload that the parser has just started to
 * buffer, the buffer is replaced by one of the message's full size taken from the receive-buffer recycler
 * (`receive-buffer-recycler.ts`), holding the bytes buffered so far. Later reads then append without regrowth,
 * and the delivered `msg.data` is the start of a buffer of its own: offset 0, so gradient values after the
 * 16-byte piece header are 4-byte aligned and can be viewed in place. A consumer that has finished with a frame
 * (and kept no view of it) hands it back with `releasePayload`; one that never does just leaves it to the
 * garbage collector, as the stock client does. Messages that fit in one socket read are delivered as views of that read,
 * exactly as the client does, and are not recycled — unless the connection reads into a reused buffer
 * (socket-reads.ts), which copies such a payload out before delivering it: into a recycled buffer when it is
 * at least MIN_RECYCLED bytes (`copyIntoRecycled`), so it is released like the others.
 *
 * The client makes a new parser when it (re)dials; until the wrapper is installed on it again (connectNats does
 * after every reconnect) the new parser is the client's own — receiving slower, never wrong — and
 * `receivedPayloadsInstalled` says so.
 *
 * `GRADMESH_RECEIVE_POOL=off` leaves the client as it is (to measure the difference in one benchmark run).
 *
 * The parser fields used (`state`, `ma.size`, `msgBuf`) are internals of nats-core 3.4, the exact version
 * every package pins. Before the first install the wrapper is checked on a synthetic split message
 * (`selfTest`); if the internals ever differ it leaves every connection untouched and reports that, so a
 * client upgrade can make receiving slower but never wrong.
 */

/** Messages smaller than this are left to the client (the regrowth costs little there). */
const MIN_RECYCLED = 128 << 10;

export interface ParserInternals {
  state: number;
  ma: { size: number };
  msgBuf: { _buf: Uint8Array; _off: number; capacity: number; bytes(o: { copy: boolean }): Uint8Array } | undefined;
  parse(buf: Uint8Array): void;
}

const recycler = new ReceiveBufferRecycler();
/** Parsers (one per connection) whose `parse` is wrapped. */
const installedOn = new WeakSet<ParserInternals>();
/** The process-wide outcome of the checks that come before any install (environment, self-test). */
let status: 'not-checked' | 'available' | string = 'not-checked';

/**
 * Hands a received frame back for reuse. Call it only when nothing holds a view of `frame` any more; frames the
 * recycler did not lend (small messages, or the wrapper not installed) are ignored. Returns whether it was taken.
 */
export function releasePayload(frame: Uint8Array): boolean {
  return recycler.release(frame);
}

/**
 * Whether `frame` is a recycled payload not released yet: a buffer of its own that the client will not touch
 * again, so it may be kept past the callback without a copy (until released).
 */
export function isRecycledPayload(frame: Uint8Array): boolean {
  return recycler.isLent(frame);
}

/**
 * A copy of `data` (a payload the socket-read wrapper must copy out of its reused read buffer, socket-reads.ts):
 * in a recycled buffer at offset 0 when it is large enough to be recycled and recycling is on, so the consumer
 * releases it like any recycled payload; otherwise a fresh copy.
 */
export function copyIntoRecycled(data: Uint8Array): Uint8Array {
  // Not `data.slice()`: on a Buffer (what socket reads are) it makes a view, not a copy.
  const copy = status !== 'available' || data.length < MIN_RECYCLED ? new Uint8Array(data.length) : new Uint8Array(recycler.take(data.length), 0, data.length);
  copy.set(data);
  return copy;
}

/** Whether received payloads can be recycled in this process (`available`), or why not; buffer counts. */
export function receivedPayloadStats(): { status: string; taken: number; reused: number } {
  return { status, taken: recycler.taken, reused: recycler.reused };
}

function parserOf(nc: NatsConnection): ParserInternals | undefined {
  return (nc as unknown as { protocol?: { parser?: ParserInternals } }).protocol?.parser;
}

/** Whether `nc`'s current parser assembles large payloads in recycled buffers. */
export function receivedPayloadsInstalled(nc: NatsConnection): boolean {
  const parser = parserOf(nc);
  return parser !== undefined && installedOn.has(parser);
}

/**
 * Installs the parser wrapper on `nc` (idempotent). Returns true when installed; false when turned off by
 * GRADMESH_RECEIVE_POOL=off or when the client's internals are not the ones this was written for (the reason
 * in `receivedPayloadStats().status`).
 */
export function installReceivedPayloads(nc: NatsConnection): boolean {
  const parser = parserOf(nc);
  if (parser !== undefined && installedOn.has(parser)) return true;
  if (!checkAvailable()) return false;
  if (parser === undefined || typeof parser.parse !== 'function') return false;
  parser.parse = wrapParse(parser.parse);
  installedOn.add(parser);
  return true;
}

function checkAvailable(): boolean {
  if (status !== 'not-checked') return status === 'available';
  if (process.env['GRADMESH_RECEIVE_POOL'] === 'off') {
    status = 'turned off by GRADMESH_RECEIVE_POOL=off';
    return false;
  }
  const original = (Parser.prototype as unknown as ParserInternals).parse;
  if (typeof original !== 'function' || typeof State.MSG_PAYLOAD !== 'number' || typeof DenoBuffer !== 'function') {
    status = 'nats-core Parser internals not found';
    return false;
  }
  const problem = selfTest(wrapParse(original));
  status = problem === undefined ? 'available' : `nats-core parser self-test failed (${problem}); receiving without recycled buffers`;
  return status === 'available';
}

/**
 * `parse` with recycled, presized payload buffers (the note above). Exported for tests, which drive a Parser
 * with it directly; `installReceivedPayloads` puts it on a connection's parser.
 */
export function wrapParse(original: (this: ParserInternals, buf: Uint8Array) => void): (this: ParserInternals, buf: Uint8Array) => void {
  return function (this: ParserInternals, buf: Uint8Array): void {
    original.call(this, buf);
    const mb = this.msgBuf;
    if (this.state !== State.MSG_PAYLOAD || mb === undefined) return;
    const size = this.ma.size;
    if (size < MIN_RECYCLED || mb.capacity >= size) return;
    const have = mb.bytes({ copy: false });
    const buffer = recycler.take(size);
    new Uint8Array(buffer, 0, have.length).set(have);
    mb._buf = new Uint8Array(buffer, 0, have.length);
    mb._off = 0;
  };
}

/** The smallest payload that is recycled (smaller messages are left to the client). */
export const MIN_RECYCLED_BYTES = MIN_RECYCLED;
/** Feeds a message split over three reads through a parser using `parse`; returns what went wrong, if anything. */
function selfTest(parse: (this: ParserInternals, buf: Uint8Array) => void): string | undefined {
  try {
    const size = MIN_RECYCLED + 5;
    const payload = new Uint8Array(size);
    const pattern = Uint8Array.from({ length: 251 }, (_, i) => (i * 31 + 7) & 0xff);
    for (let i = 0; i < size; i += pattern.length) payload.set(pattern.subarray(0, Math.min(pattern.length, size - i)), i);
    const wire = new Uint8Array([...Buffer.from(`MSG t.s 1 ${size}\r\n`), ...payload, ...Buffer.from('\r\n')]);
    const delivered: Uint8Array[] = [];
    const dispatcher = {
      push: (e: unknown): void => {
        const data = (e as { data?: unknown }).data;
        if (data instanceof Uint8Array) delivered.push(data);
      },
    };
    const parser = new Parser(dispatcher) as unknown as ParserInternals;
    const cuts = [0, 1000, 70_000, wire.length];
    for (let i = 0; i + 1 < cuts.length; i++) parse.call(parser, wire.subarray(cuts[i], cuts[i + 1]));
    const got = delivered[0];
    if (delivered.length !== 1 || got === undefined) return `${delivered.length} messages delivered, expected 1`;
    if (got.length !== size || got.byteOffset !== 0) return `payload of ${got.length} bytes at offset ${got.byteOffset}`;
    if (Buffer.compare(got, payload) !== 0) return 'payload bytes differ';
    if (!recycler.release(got)) return 'payload did not come from the recycler';
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
