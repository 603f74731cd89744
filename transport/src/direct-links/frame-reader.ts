import { takeFrame } from './frame-pool.js';

/** Bytes of a frame's length prefix (u32 little-endian). */
export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 64 << 20;
/** Bytes of the reused buffer reads go to when they do not go straight into a frame (Note [reads into the frame]). */
export const SCRATCH_READ_BYTES = 64 << 10;

/**
 * Note [reads into the frame]
 * With user-buffer reads (user-buffer-reads.ts) the socket asks, before each read, where the next bytes should go.
 * While a frame of which at least SCRATCH_READ_BYTES are still missing is in progress, the answer is the missing
 * part of that frame itself: the kernel copies the bytes straight into the frame, and since a read never exceeds
 * the buffer it is given, it cannot run past the frame's end. Otherwise (a length prefix, small frames, a frame's
 * short tail) the read goes to one reused scratch buffer and is cut up by `push` as a 'data' chunk would be. A
 * 1 MiB frame thus costs one user-space copy of at most SCRATCH_READ_BYTES instead of a copy of all of it, and no
 * read allocates.
 */

/**
 * Cuts a byte stream into frames: a 4-byte little-endian length, then that many payload bytes. Each frame is
 * copied into a pooled buffer of exactly its size (Note [frame pool]) straight from the socket chunks, so a chunk
 * is never kept and a frame is copied once. A length of 0 or above `maxFrameBytes` is a protocol violation: the
 * reader stops and reports it; the caller closes the link.
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #onFrame: (frame: Uint8Array) => void;
  readonly #onViolation: (reason: string) => void;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFilled = 0;
  #frame: Uint8Array | undefined;
  #frameFilled = 0;
  #failed = false;
  #scratch: Uint8Array | undefined;

  constructor(maxFrameBytes: number, onFrame: (frame: Uint8Array) => void, onViolation: (reason: string) => void) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#onFrame = onFrame;
    this.#onViolation = onViolation;
  }

  /** Whether the stream ended between frames (an EOF now loses nothing). */
  get atFrameBoundary(): boolean {
    return this.#headerFilled === 0 && this.#frame === undefined;
  }

  /** Bytes of the frame in progress that are still missing (for a close reason). */
  describePartial(): string {
    if (this.#frame !== undefined) return `${this.#frameFilled} of ${this.#frame.byteLength} bytes of a frame`;
    return `${this.#headerFilled} of ${FRAME_HEADER_BYTES} bytes of a frame length`;
  }

  /** Where the next socket read should land (Note [reads into the frame]). */
  nextReadBuffer(): Uint8Array {
    const frame = this.#frame;
    if (frame !== undefined && !this.#failed && frame.byteLength - this.#frameFilled >= SCRATCH_READ_BYTES) return frame.subarray(this.#frameFilled);
    return (this.#scratch ??= new Uint8Array(SCRATCH_READ_BYTES));
  }

  /** `nread` bytes were read into `buffer`, which the last nextReadBuffer() returned. */
  pushRead(nread: number, buffer: Uint8Array): void {
    if (buffer === this.#scratch || this.#failed) {
      this.push(buffer.subarray(0, nread));
      return;
    }
    // Read straight into the frame in progress: the bytes are in place already.
    const frame = this.#frame!;
    this.#frameFilled += nread;
    if (this.#frameFilled === frame.byteLength) {
      this.#frame = undefined;
      this.#onFrame(frame);
    }
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    const n = chunk.byteLength;
    while (at < n && !this.#failed) {
      if (this.#frame === undefined) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, n - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerFilled);
        this.#headerFilled += take;
        at += take;
        if (this.#headerFilled < FRAME_HEADER_BYTES) return;
        this.#headerFilled = 0;
        const h = this.#header;
        const length = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        if (length === 0 || length > this.#maxFrameBytes) {
          this.#failed = true;
          this.#onViolation(length === 0 ? 'frame length 0' : `frame length ${length} above the limit of ${this.#maxFrameBytes} bytes`);
          return;
        }
        this.#frame = takeFrame(length);
        this.#frameFilled = 0;
      }
      const frame = this.#frame;
      const take = Math.min(frame.byteLength - this.#frameFilled, n - at);
      frame.set(take === n && at === 0 ? chunk : chunk.subarray(at, at + take), this.#frameFilled);
      this.#frameFilled += take;
      at += take;
      if (this.#frameFilled === frame.byteLength) {
        this.#frame = undefined;
        this.#onFrame(frame);
      }
    }
  }
}
