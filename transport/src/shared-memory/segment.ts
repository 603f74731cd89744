import { randomBytes } from 'node:crypto';
import { closeSync, constants, ftruncateSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAddonOrReason } from '@gradmesh/shared/internal';

/**
 * Note [a segment per rank and generation]
 * A rank that shares a host with peers puts the frames it sends them into a segment of its own: a file in
 * /dev/shm (tmpfs: memory, never a disk), created 0600 with a random name, sparse (its pages are reserved as they
 * are first used, Note [reserve before writing] in shared/native/shared_memory.c), mapped writable by its creator and
 * read-only by every peer that finds it is on the same host (Note [same host] in host-key.ts). The first page
 * holds a magic and a 16-byte nonce that travels with the name, so a peer that opened some other file of that
 * name — another tmpfs, a stale file — sees the mismatch and keeps to the links. Once every peer has answered
 * (mapped it or not) the creator unlinks the file: the mappings outlive the name, and a rank that is killed
 * afterwards leaves nothing behind in /dev/shm. A process that exits before that removes its files on the way out;
 * one killed before that leaves a file named with its pid, which the next segment created on the host removes
 * (`sweepStaleSegments`).
 */
export const SEGMENT_DIR = '/dev/shm';
export const SEGMENT_PREFIX = 'gradmesh-';
/** The first page: magic, nonce; slots start after it. */
export const SEGMENT_HEADER_BYTES = 4096;
const MAGIC = 0x47_4d_53_48; // "GMSH"
export const NONCE_BYTES = 16;
const NAME_PATTERN = /^gradmesh-([1-9][0-9]{0,9})-[0-9a-f]{16}$/;
/** A stale file is only removed when its creator is gone AND it is this old (a creator in another pid namespace could look gone). */
const STALE_AFTER_MS = 60_000;

/** Paths of this process's segments not yet unlinked: removed when the process exits, however it closes its transports. */
const live = new Set<string>();
let exitHook = false;

function track(path: string): void {
  live.add(path);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of live) unlinkQuietly(p);
  });
}

/** A segment this process created: written here, read by peers. */
export interface OwnSegment {
  readonly name: string;
  readonly bytes: number;
  readonly buffer: ArrayBuffer;
  readonly nonce: Uint8Array;
  /** Reserves bytes [offset, offset + bytes) before they are first written; false when the tmpfs has no room (Note [reserve before writing]). */
  reserve(offset: number, bytes: number): boolean;
  /** Removes the file (idempotent); the mappings stay valid. */
  unlink(): void;
  /** Unlinks, gives up the descriptor and unmaps the segment (Note [unmapped when closed]): `buffer` is detached. */
  close(): void;
}

/** The native side of segments: mapping a file, reserving its pages (shared/native/shared_memory.c). */
export interface SegmentMapper {
  map(fd: number, bytes: number, writable: boolean): ArrayBuffer;
  reserve(fd: number, offset: number, bytes: number): boolean;
  /** Detaches and unmaps a buffer `map` returned, now (Note [unmapped when closed] in shared/native/shared_memory.c). */
  unmap(buffer: ArrayBuffer): void;
}

/** The native functions, or why there are none (no addon, or one built before them). */
export function sharedMemoryMapper(): SegmentMapper | { readonly reason: string } {
  const addon = nativeAddonOrReason();
  if ('reason' in addon) return addon;
  const { mapSharedFile, reserveFileRange, unmapShared } = addon;
  if (typeof mapSharedFile !== 'function' || typeof reserveFileRange !== 'function' || typeof unmapShared !== 'function') {
    return { reason: 'the native addon predates shared-memory segments; rebuild it with `npm run build`' };
  }
  return {
    map: (fd, bytes, writable) => mapSharedFile.call(addon, fd, bytes, writable),
    reserve: (fd, offset, bytes) => reserveFileRange.call(addon, fd, offset, bytes),
    unmap: (buffer) => unmapShared.call(addon, buffer),
  };
}

/**
 * Creates, sizes and maps a new segment of `bytes` (sparse: only its first page is reserved; the rest as slots are
 * used, Note [reserve before writing]); throws an Error saying why it cannot.
 */
export function createSegment(bytes: number, mapper: SegmentMapper, dir = SEGMENT_DIR): OwnSegment {
  sweepStaleSegments(dir);
  const name = `${SEGMENT_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`;
  const path = join(dir, name);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  let buffer: ArrayBuffer;
  try {
    ftruncateSync(fd, bytes);
    if (!mapper.reserve(fd, 0, SEGMENT_HEADER_BYTES)) throw new Error(`no room in ${dir} for a segment's first page`);
    buffer = mapper.map(fd, bytes, true);
  } catch (error) {
    closeSync(fd);
    unlinkQuietly(path);
    throw error;
  }
  track(path);
  const nonce = randomBytes(NONCE_BYTES);
  const head = new DataView(buffer, 0, SEGMENT_HEADER_BYTES);
  head.setUint32(0, MAGIC, true);
  new Uint8Array(buffer, 4, NONCE_BYTES).set(nonce);
  let unlinked = false;
  let open = true;
  const unlink = (): void => {
    if (unlinked) return;
    unlinked = true;
    live.delete(path);
    unlinkQuietly(path);
  };
  return {
    name,
    bytes,
    buffer,
    nonce: new Uint8Array(nonce),
    reserve: (offset, length) => open && offset >= 0 && length >= 1 && offset + length <= bytes && mapper.reserve(fd, offset, length),
    unlink,
    close: () => {
      unlink();
      if (!open) return;
      open = false;
      closeSync(fd);
      mapper.unmap(buffer);
    },
  };
}

/**
 * A peer's segment mapped read-only, or why not (a one-line reason: bad name, no such file, wrong size or nonce).
 * `name`, `bytes` and `nonce` come from the peer and are checked before anything is mapped.
 */
export function openPeerSegment(name: string, bytes: number, nonce: Uint8Array, mapper: SegmentMapper, dir = SEGMENT_DIR): ArrayBuffer | { readonly reason: string } {
  if (!NAME_PATTERN.test(name)) return { reason: `segment name ${JSON.stringify(name.slice(0, 64))} is not a gradmesh segment` };
  if (!Number.isSafeInteger(bytes) || bytes <= SEGMENT_HEADER_BYTES) return { reason: `segment size ${bytes} is not valid` };
  if (nonce.length !== NONCE_BYTES) return { reason: 'segment nonce has the wrong length' };
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO of that name (anyone may make one in /dev/shm) would otherwise block this rank for good;
    // opened without waiting, it is then refused as not a regular file.
    fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { reason: `cannot open ${join(dir, name)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  try {
    const buffer = mapper.map(fd, bytes, false);
    const head = new DataView(buffer, 0, SEGMENT_HEADER_BYTES);
    const found = new Uint8Array(buffer, 4, NONCE_BYTES);
    if (head.getUint32(0, true) !== MAGIC || !found.every((b, i) => b === nonce[i])) {
      mapper.unmap(buffer);
      return { reason: `${join(dir, name)} is not the peer's segment (magic or nonce differ)` };
    }
    return buffer;
  } catch (error) {
    return { reason: `cannot map ${join(dir, name)}: ${(error as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** Removes segment files whose creating process is gone (Note [a segment per rank and generation]). */
export function sweepStaleSegments(dir = SEGMENT_DIR, now = Date.now()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const match = NAME_PATTERN.exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs < STALE_AFTER_MS) continue;
      unlinkSync(path);
      removed++;
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
