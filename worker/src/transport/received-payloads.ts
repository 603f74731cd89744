import { DenoBuffer, Parser, State } from '@nats-io/nats-core/internal';

/**
 * Note [receiving large messages without regrowth]
 * The NATS client (@nats-io/nats-core 3.4) assembles a message that spans several socket reads (every 1 MiB
 * gradient piece: Node reads 64 KiB at a time) in a growable buffer that starts at the size of the first read
 * and doubles: about five allocations and two copies of every payload byte, all zero-filled and then left
 * to the garbage collector. In the all-reduce profile that regrowth plus the GC it caused was a third of a
 * rank's CPU time.
 *
 * The parser knows the message size from its MSG line before the payload arrives, so this module wraps
 * `Parser.prototype.parse`: when a parse ends inside a payload that the parser has just started to buffer, the
 * buffer is replaced by one of the message's full size taken from a pool, holding the bytes buffered so far.
 * Later reads then append without regrowth, and the delivered `msg.data` is the start of a buffer of its own:
 * offset 0, so gradient values after the 16-byte piece header are 4-byte aligned and can be viewed in place.
 * A consumer that has finished with a frame (and kept no view of it) hands it back with `releasePayload`; one
 * that never does just leaves it to the garbage collector, as before. Messages that fit in one socket read are
 * delivered as views of that read, exactly as the client does, and are not pooled.
 *
 * `GRADMESH_RECEIVE_POOL=off` leaves the client as it is (to measure the difference in one benchmark run).
 *
 * The parser fields used (`state`, `ma.size`, `msgBuf`) are internals of nats-core 3.4, whose version the
 * worker pins. `installPooledPayloads` checks the wrapper on a synthetic split message before installing it;
 * if the internals ever differ it leaves the client untouched and reports that, so a client upgrade can make
 * receiving slower but never wrong.
 */

/** Sizes are rounded up to this, so the last (shorter) pieces of chunks share a few size classes. */
const SIZE_CLASS = 64 << 10;
/** Messages smaller than this are left to the client (the regrowth costs little there). */
const MIN_POOLED = 128 << 10;
/** Free buffers kept for reuse, in bytes; beyond it released buffers go to the garbage collector. */
const MAX_FREE_BYTES = 96 << 20;

export interface ParserInternals {
  state: number;
  ma: { size: number };
  msgBuf: { _buf: Uint8Array; _off: number; capacity: number; bytes(o: { copy: boolean }): Uint8Array } | undefined;
  parse(buf: Uint8Array): void;
}

class PayloadPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Buffers handed to the parser and not released yet: only these may come back. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  #freeBytes = 0;
  taken = 0;
  reused = 0;

  take(bytes: number): ArrayBuffer {
    const size = Math.ceil(bytes / SIZE_CLASS) * SIZE_CLASS;
    this.taken++;
    let buffer = this.#free.get(size)?.pop();
    if (buffer !== undefined) {
      this.#freeBytes -= size;
      this.reused++;
    } else {
      // Not zero-filled: every byte a consumer can see is written by the parser first.
      const b = Buffer.allocUnsafeSlow(size);
      buffer = b.buffer as ArrayBuffer;
    }
    this.#lent.add(buffer);
    return buffer;
  }

  isLent(frame: Uint8Array): boolean {
    return this.#lent.has(frame.buffer as ArrayBuffer);
  }

  release(frame: Uint8Array): boolean {
    const buffer = frame.buffer as ArrayBuffer;
    if (!this.#lent.has(buffer)) return false;
    this.#lent.delete(buffer);
    const size = buffer.byteLength;
    if (this.#freeBytes + size > MAX_FREE_BYTES) return true;
    let list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, (list = []));
    list.push(buffer);
    this.#freeBytes += size;
    return true;
  }
}

const pool = new PayloadPool();
let status: 'not-installed' | 'installed' | string = 'not-installed';

/**
 * Hands a received frame back for reuse. Call it only when nothing holds a view of `frame` any more; frames the
 * pool did not lend (small messages, or the wrapper not installed) are ignored. Returns whether it was taken.
 */
export function releasePayload(frame: Uint8Array): boolean {
  return pool.release(frame);
}

/**
 * Whether `frame` is a pooled payload not released yet: a buffer of its own that the client will not touch
 * again, so it may be kept past the callback without a copy (until released).
 */
export function isPooledPayload(frame: Uint8Array): boolean {
  return pool.isLent(frame);
}

/** Receive-buffer pool figures (for benchmarks and tests). */
export function payloadPoolStats(): { installed: boolean; status: string; taken: number; reused: number } {
  return { installed: status === 'installed', status, taken: pool.taken, reused: pool.reused };
}

/**
 * Installs the parser wrapper once per process (idempotent). Returns true when installed; false (with the
 * reason in `payloadPoolStats().status`) when the client's internals are not the ones this was written for.
 */
export function installPooledPayloads(): boolean {
  if (status === 'installed') return true;
  if (status !== 'not-installed') return false;
  if (process.env['GRADMESH_RECEIVE_POOL'] === 'off') {
    status = 'turned off by GRADMESH_RECEIVE_POOL=off';
    return false;
  }
  const proto = Parser.prototype as unknown as ParserInternals;
  const original = proto.parse;
  if (typeof original !== 'function' || typeof State.MSG_PAYLOAD !== 'number' || typeof DenoBuffer !== 'function') {
    status = 'nats-core Parser internals not found';
    return false;
  }
  const wrapped = wrapParse(original);
  const problem = selfTest(wrapped);
  if (problem !== undefined) {
    status = `nats-core parser self-test failed (${problem}); receiving unpooled`;
    return false;
  }
  proto.parse = wrapped;
  status = 'installed';
  return true;
}

/**
 * `parse` with pooled, presized payload buffers (the note above). Exported for tests, which drive a Parser
 * with it directly; `installPooledPayloads` puts it on the prototype.
 */
export function wrapParse(original: (this: ParserInternals, buf: Uint8Array) => void): (this: ParserInternals, buf: Uint8Array) => void {
  return function (this: ParserInternals, buf: Uint8Array): void {
    original.call(this, buf);
    const mb = this.msgBuf;
    if (this.state !== State.MSG_PAYLOAD || mb === undefined) return;
    const size = this.ma.size;
    if (size < MIN_POOLED || mb.capacity >= size) return;
    const have = mb.bytes({ copy: false });
    const buffer = pool.take(size);
    new Uint8Array(buffer, 0, have.length).set(have);
    mb._buf = new Uint8Array(buffer, 0, have.length);
    mb._off = 0;
  };
}

/** The smallest payload that is pooled (smaller messages are left to the client). */
export const MIN_POOLED_BYTES = MIN_POOLED;

/** Feeds a message split over three reads through a parser using `parse`; returns what went wrong, if anything. */
function selfTest(parse: (this: ParserInternals, buf: Uint8Array) => void): string | undefined {
  try {
    const size = MIN_POOLED + 5;
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
    if (!pool.release(got)) return 'payload did not come from the pool';
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
