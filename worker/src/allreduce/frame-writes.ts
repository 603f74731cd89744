/**
 * Who waits for a frame to be written (`PieceTransport.whenWritten`) and how many sends of it are still out. A
 * transport registers each send with `track` and calls what it returns once that send is written (or could not
 * be); the watcher runs after the last. Shared by the direct links and the shared-memory transport above them.
 */
export class FrameWrites {
  readonly #watched = new Map<Uint8Array, { left: number; readonly done: () => void }>();

  /** `done` runs once every send of `frame` tracked after this call has been written. */
  watch(frame: Uint8Array, done: () => void): void {
    this.#watched.set(frame, { left: 0, done });
  }

  /** `sends` more sends of `frame`: the callback to run once per send, or undefined when nobody watches it. */
  track(frame: Uint8Array, sends: number): (() => void) | undefined {
    const writes = this.#watched.get(frame);
    if (writes === undefined) return undefined;
    writes.left += sends;
    return () => {
      if (--writes.left > 0) return;
      if (this.#watched.get(frame) === writes) this.#watched.delete(frame);
      writes.done();
    };
  }

  /** Forgets every watcher (the transport closed or failed: nothing will be written). */
  clear(): void {
    this.#watched.clear();
  }
}
