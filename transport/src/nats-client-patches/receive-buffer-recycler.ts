/** Sizes are rounded up to this, so the last (shorter) pieces of chunks share a few size classes. */
const SIZE_CLASS = 64 << 10;
/** Free buffers kept for reuse, in bytes; beyond it released buffers go to the garbage collector. */
const MAX_FREE_BYTES = 96 << 20;

/**
 * Presized receive buffers for large NATS payloads (Note [receiving large messages without regrowth]), by size
 * class, handed back by consumers that are done with a frame. One per process, shared by every connection.
 */
export class ReceiveBufferRecycler {
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Buffers handed to a parser and not released yet: only these may come back. */
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
