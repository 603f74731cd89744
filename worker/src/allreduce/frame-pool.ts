/**
 * Note [recycling published frames]
 * Allocating a fresh 1 MiB frame per published piece cost about as much as copying it (the allocation zeroes
 * it) plus garbage-collector time. The NATS client (@nats-io/nats-core 3.x) keeps a reference to a published
 * buffer only until it flushes its outbound buffer — at the end of the current microtask queue, or inline
 * when 32 KiB are pending — and flushing copies the frame into its own write buffer. So a frame published in
 * one macrotask is free again in the next one. The pool hands out frames, takes back each published one, and
 * makes it available again from a `setImmediate` callback, i.e. never in the tick it was published.
 *
 * While the connection is down the client keeps unflushed frames until it reconnects; `invalidate()` (called
 * on a disconnect) forgets every frame handed out so far, so none of them is ever written again.
 */
export class FramePool {
  readonly #free = new Map<number, Uint8Array[]>();
  #published: Uint8Array[] = [];
  #scheduled = false;
  #epoch = 0;
  #bytesFree = 0;

  constructor(
    /** Free bytes kept for reuse at most; frames beyond it are left to the garbage collector. */
    readonly maxFreeBytes: number,
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

  /** `frame` was just published: reuse it from the next macrotask on. */
  published(frame: Uint8Array): void {
    this.#published.push(frame);
    if (this.#scheduled) return;
    this.#scheduled = true;
    const epoch = this.#epoch;
    setImmediate(() => {
      this.#scheduled = false;
      const frames = this.#published;
      this.#published = [];
      if (epoch !== this.#epoch) return;
      for (const f of frames) {
        if (this.#bytesFree + f.length > this.maxFreeBytes) continue;
        let list = this.#free.get(f.length);
        if (list === undefined) this.#free.set(f.length, (list = []));
        list.push(f);
        this.#bytesFree += f.length;
      }
    });
  }

  /** Forgets every frame handed out (the client may hold them across a reconnect) and every free one. */
  invalidate(): void {
    this.#epoch++;
    this.#published = [];
    this.#free.clear();
    this.#bytesFree = 0;
  }
}
