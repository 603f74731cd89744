/**
 * Note [recycling published frames]
 * Allocating a fresh 1 MiB frame per published piece cost about as much as copying it (the allocation zeroes
 * it) plus garbage-collector time. A published frame is read by the NATS client until it is written: by the
 * socket itself with direct writes (`@gradmesh/transport`'s `nats-client-patches/direct-writes.ts`), else by the client's flush, which copies it
 * at the latest at the end of the current microtask queue. `whenWritten` reports either moment, and only then
 * does the recycler take the frame back — never in the tick it was published.
 *
 * While the connection is down the client keeps unflushed frames until it reconnects; `invalidate()` (called
 * on a disconnect) forgets every frame handed out so far, so none of them is ever written again.
 */
export class FrameRecycler {
  readonly #free = new Map<number, Uint8Array[]>();
  #epoch = 0;
  #bytesFree = 0;

  constructor(
    /** Free bytes kept for reuse at most; frames beyond it are left to the garbage collector. */
    readonly maxFreeBytes: number,
    /** Calls `done` once the client no longer reads a published buffer (`whenWritten` of the connection). */
    readonly whenWritten: (frame: Uint8Array, done: () => void) => void,
  ) {}

  /** A frame of exactly `bytes` bytes (4-byte aligned: it owns its buffer), recycled when one is free. */
  acquire(bytes: number): Uint8Array {
    const list = this.#free.get(bytes);
    const frame = list?.pop();
    if (frame !== undefined) {
      this.#bytesFree -= bytes;
      return frame;
    }
    return new Uint8Array(bytes);
  }

  /**
   * `frame` is about to be published (call this BEFORE publishing: the client may write it inside the publish
   * call): reuse it once the client has written it (see the note).
   */
  publishing(frame: Uint8Array): void {
    const epoch = this.#epoch;
    this.whenWritten(frame, () => {
      if (epoch !== this.#epoch || this.#bytesFree + frame.length > this.maxFreeBytes) return;
      let list = this.#free.get(frame.length);
      if (list === undefined) this.#free.set(frame.length, (list = []));
      list.push(frame);
      this.#bytesFree += frame.length;
    });
  }

  /** Forgets every frame handed out (the client may hold them across a reconnect) and every free one. */
  invalidate(): void {
    this.#epoch++;
    this.#free.clear();
    this.#bytesFree = 0;
  }
}
