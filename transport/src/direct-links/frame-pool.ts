/**
 * Note [frame pool]
 * A received frame is delivered as a Uint8Array of its own (byteOffset 0, exactly the frame's bytes), so the
 * receiver may keep it, hand it to a worker thread or view it as a Float32Array. Allocating one per frame would
 * make V8 see hundreds of MB of fresh external memory per all-reduce (the GC pressure socket-reads.ts describes), so
 * frames the receiver is done with come back through releaseFrame and are reused for the next frame of the same
 * size (an all-reduce's chunks have a handful of sizes). The pool is process-wide, keyed by size, and capped in
 * total bytes; releasing is optional (an unreleased frame is ordinary garbage). Only frames this pool handed out
 * are taken back, once each: a foreign or twice-released array could otherwise be handed to two owners.
 */
export const FRAME_POOL_MAX_BYTES = 256 << 20;

const freeBySize = new Map<number, Uint8Array[]>();
const handedOut = new WeakSet<Uint8Array>();
let pooledBytes = 0;
let reused = 0;
let allocated = 0;

/** A frame buffer of exactly `size` bytes (contents undefined), reused when one of that size was released. */
export function takeFrame(size: number): Uint8Array {
  const free = freeBySize.get(size);
  let frame = free?.pop();
  if (frame !== undefined) {
    pooledBytes -= size;
    reused += 1;
  } else {
    // allocUnsafeSlow: an ArrayBuffer of its own (never a slice of Node's shared pool), not zero-filled.
    const b = Buffer.allocUnsafeSlow(size);
    frame = new Uint8Array(b.buffer, 0, size);
    allocated += 1;
  }
  handedOut.add(frame);
  return frame;
}

/** Hands a received frame back for reuse (optional; the caller must not touch it afterwards). Ignores foreign arrays. */
export function releaseFrame(frame: Uint8Array): void {
  if (!handedOut.delete(frame)) return;
  const size = frame.byteLength;
  if (pooledBytes + size > FRAME_POOL_MAX_BYTES) return;
  let free = freeBySize.get(size);
  if (free === undefined) freeBySize.set(size, (free = []));
  free.push(frame);
  pooledBytes += size;
}

/** How the pool did: frames allocated vs reused, and bytes held for reuse now. */
export function framePoolStats(): { allocated: number; reused: number; pooledBytes: number } {
  return { allocated, reused, pooledBytes };
}
