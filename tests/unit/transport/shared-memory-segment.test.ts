/**
 * Shared-memory segments (transport/src/shared-memory/): a segment is read by a peer only when name, size and
 * nonce are the ones announced, a mapping never outgrows its file, and stale files of dead ranks are swept
 * (Note [a segment per rank and generation], Note [a mapping never outgrows its file] in shared/native/shared_memory.c).
 * Every test uses a directory of its own, never the real /dev/shm segments.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostKey } from '../../../transport/src/shared-memory/host-key.js';
import {
  createSegment,
  NONCE_BYTES,
  openPeerSegment,
  SEGMENT_HEADER_BYTES,
  SEGMENT_PREFIX,
  sharedMemoryMapper,
  sweepStaleSegments,
} from '../../../transport/src/shared-memory/segment.js';

const mapperOrReason = sharedMemoryMapper();
const unavailable = 'reason' in mapperOrReason ? mapperOrReason.reason : undefined;
type Mapper = Exclude<typeof mapperOrReason, { readonly reason: string }>;
const map = (): Mapper => mapperOrReason as Mapper;

const BYTES = SEGMENT_HEADER_BYTES + 3 * 4096;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradmesh-segment-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const segmentFiles = (): string[] => readdirSync(dir).filter((n) => n.startsWith(SEGMENT_PREFIX));

/** A pid no process has now: one of a child that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync('true');
  const pid = r.pid!;
  expect(pid).toBeGreaterThan(0);
  expect(() => process.kill(pid, 0)).toThrow();
  return pid;
}

function oldFile(name: string, ageMs: number): string {
  const path = join(dir, name);
  writeFileSync(path, 'x');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
  return path;
}

describe.skipIf(unavailable !== undefined)(`shared-memory segments (${unavailable ?? 'mapSharedFile available'})`, () => {
  it('a peer opening the segment with its name, size and nonce reads the bytes its creator wrote (also ones written after the open)', () => {
    const own = createSegment(BYTES, map(), dir);
    expect(own.name).toMatch(/^gradmesh-[0-9]+-[0-9a-f]{16}$/);
    expect(own.name.startsWith(`gradmesh-${process.pid}-`)).toBe(true);
    expect(own.bytes).toBe(BYTES);
    expect(own.buffer.byteLength).toBe(BYTES);
    expect(own.nonce.length).toBe(NONCE_BYTES);
    expect(own.reserve(SEGMENT_HEADER_BYTES, BYTES - SEGMENT_HEADER_BYTES)).toBe(true);
    const mine = new Uint8Array(own.buffer);
    for (let i = SEGMENT_HEADER_BYTES; i < BYTES; i++) mine[i] = (i * 31 + 7) & 0xff;

    const peer = openPeerSegment(own.name, BYTES, own.nonce, map(), dir);
    if (!(peer instanceof ArrayBuffer)) throw new Error(peer.reason);
    expect(peer).not.toBe(own.buffer);
    expect(peer.byteLength).toBe(BYTES);
    const theirs = new Uint8Array(peer);
    expect(Buffer.compare(theirs.subarray(SEGMENT_HEADER_BYTES), mine.subarray(SEGMENT_HEADER_BYTES))).toBe(0);
    // The same memory, not a copy: a later write shows through.
    mine[SEGMENT_HEADER_BYTES + 5] = 0xab;
    mine[BYTES - 1] = 0xcd;
    expect(theirs[SEGMENT_HEADER_BYTES + 5]).toBe(0xab);
    expect(theirs[BYTES - 1]).toBe(0xcd);
    own.unlink();
  });

  it('a peer may map fewer bytes than the file holds (a prefix)', () => {
    const own = createSegment(BYTES, map(), dir);
    expect(own.reserve(SEGMENT_HEADER_BYTES, 4096)).toBe(true); // Note [reserve before writing]
    new Uint8Array(own.buffer)[SEGMENT_HEADER_BYTES] = 42;
    const peer = openPeerSegment(own.name, SEGMENT_HEADER_BYTES + 1, own.nonce, map(), dir);
    if (!(peer instanceof ArrayBuffer)) throw new Error(peer.reason);
    expect(peer.byteLength).toBe(SEGMENT_HEADER_BYTES + 1);
    expect(new Uint8Array(peer)[SEGMENT_HEADER_BYTES]).toBe(42);
  });

  it('the file is created with mode 0600 in the given directory', () => {
    const own = createSegment(BYTES, map(), dir);
    const st = statSync(join(dir, own.name));
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.isFile()).toBe(true);
    expect(st.size).toBe(BYTES);
    expect(segmentFiles()).toEqual([own.name]);
  });

  it('two segments get different names and nonces', () => {
    const a = createSegment(BYTES, map(), dir);
    const b = createSegment(BYTES, map(), dir);
    expect(a.name).not.toBe(b.name);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(segmentFiles().sort()).toEqual([a.name, b.name].sort());
    // Each nonce opens only its own segment.
    expect(openPeerSegment(a.name, BYTES, b.nonce, map(), dir)).toHaveProperty('reason');
  });

  it('unlink removes the file (idempotently) and both mappings stay readable and shared', () => {
    const own = createSegment(BYTES, map(), dir);
    const peer = openPeerSegment(own.name, BYTES, own.nonce, map(), dir);
    if (!(peer instanceof ArrayBuffer)) throw new Error(peer.reason);
    own.unlink();
    expect(existsSync(join(dir, own.name))).toBe(false);
    expect(segmentFiles()).toEqual([]);
    expect(() => own.unlink()).not.toThrow();
    expect(own.reserve(BYTES - 4096, 4096)).toBe(true); // the descriptor outlives the name
    new Uint8Array(own.buffer)[BYTES - 2] = 0x77;
    expect(new Uint8Array(peer)[BYTES - 2]).toBe(0x77);
    // With the name gone, a peer can no longer open it.
    expect(openPeerSegment(own.name, BYTES, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/cannot open .*ENOENT/) });
  });

  it('a map that throws, or a first page that cannot be reserved, leaves no file behind and createSegment throws why', () => {
    const failingMap: Mapper = { map: () => { throw new Error('mapping refused for the test'); }, reserve: map().reserve, unmap: map().unmap };
    expect(() => createSegment(BYTES, failingMap, dir)).toThrow(/mapping refused for the test/);
    expect(segmentFiles()).toEqual([]);
    const noRoom: Mapper = { map: map().map, reserve: () => false, unmap: map().unmap };
    expect(() => createSegment(BYTES, noRoom, dir)).toThrow(/no room/);
    expect(segmentFiles()).toEqual([]);
  });

  it('the file is sparse: only the first page is reserved at first; reserve() reserves ranges inside the segment only', () => {
    const bytes = SEGMENT_HEADER_BYTES + (1 << 20);
    const own = createSegment(bytes, map(), dir);
    const path = join(dir, own.name);
    expect(statSync(path).size).toBe(bytes);
    expect(statSync(path).blocks * 512).toBeLessThan(bytes / 2);
    for (const [offset, length] of [
      [-1, 10],
      [0, 0],
      [0, -5],
      [bytes - 1, 2],
      [bytes, 1],
    ] as const) {
      expect(own.reserve(offset, length), `${offset}+${length}`).toBe(false);
    }
    expect(own.reserve(SEGMENT_HEADER_BYTES, 1 << 20)).toBe(true);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(bytes);
    new Uint8Array(own.buffer).fill(9, SEGMENT_HEADER_BYTES);
    own.close();
  });

  it('close() unlinks the file, is idempotent, reserves nothing afterwards and unmaps the segment (its buffer detached; Note [unmapped when closed]); a peer\'s mapping is its own', () => {
    const own = createSegment(BYTES, map(), dir);
    const peer = openPeerSegment(own.name, BYTES, own.nonce, map(), dir);
    if (!(peer instanceof ArrayBuffer)) throw new Error(peer.reason);
    new Uint8Array(own.buffer)[8] = 0x5a; // inside the first page, reserved at creation
    const view = new Uint8Array(own.buffer);
    own.close();
    expect(segmentFiles()).toEqual([]);
    expect(() => own.close()).not.toThrow();
    expect(() => own.unlink()).not.toThrow();
    expect(own.reserve(SEGMENT_HEADER_BYTES, 4096)).toBe(false);
    expect(own.buffer.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(view[8]).toBeUndefined();
    expect(new Uint8Array(peer)[8]).toBe(0x5a);
    map().unmap(peer);
    expect(peer.byteLength).toBe(0);
    expect(() => map().unmap(peer)).not.toThrow();
    expect(() => map().unmap(new ArrayBuffer(16))).not.toThrow();
  });

  it('createSegment in a directory that does not exist throws an Error', () => {
    expect(() => createSegment(BYTES, map(), join(dir, 'missing'))).toThrow(/ENOENT/);
  });

  it('openPeerSegment refuses names that are not gradmesh segments (path traversal, wrong shape) before touching the file system', () => {
    const own = createSegment(BYTES, map(), dir);
    const hex = own.name.slice(own.name.lastIndexOf('-') + 1);
    const bad = [
      '../etc/passwd',
      `../${own.name}`,
      `./${own.name}`,
      `sub/${own.name}`,
      `/${own.name}`,
      'gradmesh-1-xyz',
      `gradmesh-0-${hex}`, // pid 0
      `gradmesh-01-${hex}`, // leading zero
      `gradmesh-12345678901-${hex}`, // 11 digits
      `gradmesh-${process.pid}-${hex.toUpperCase()}`,
      `gradmesh-${process.pid}-${hex.slice(1)}`, // 15 hex
      `gradmesh-${process.pid}-${hex}0`, // 17 hex
      `${own.name}\n`,
      `${own.name}/`,
      `x${own.name}`,
      '',
      'gradmesh-',
    ];
    for (const name of bad) {
      const r = openPeerSegment(name, BYTES, own.nonce, map(), dir);
      expect(r, name).toHaveProperty('reason');
      expect((r as { reason: string }).reason, name).toMatch(/is not a gradmesh segment/);
    }
  });

  it('openPeerSegment refuses a wrong nonce, a nonce of the wrong length, and a missing file, with a reason', () => {
    const own = createSegment(BYTES, map(), dir);
    const wrong = new Uint8Array(own.nonce);
    wrong[NONCE_BYTES - 1]! ^= 1;
    expect(openPeerSegment(own.name, BYTES, wrong, map(), dir)).toMatchObject({ reason: expect.stringMatching(/magic or nonce differ/) });
    for (const n of [0, NONCE_BYTES - 1, NONCE_BYTES + 1]) {
      const nonce = new Uint8Array(n);
      nonce.set(own.nonce.subarray(0, Math.min(n, NONCE_BYTES)));
      expect(openPeerSegment(own.name, BYTES, nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/nonce has the wrong length/) });
    }
    const missing = `gradmesh-${process.pid}-0123456789abcdef`;
    expect(openPeerSegment(missing, BYTES, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/cannot open .*ENOENT/) });
  });

  it('openPeerSegment refuses a file that does not start with the magic even when the nonce field matches', () => {
    const own = createSegment(BYTES, map(), dir);
    new DataView(own.buffer).setUint32(0, 0, true);
    expect(openPeerSegment(own.name, BYTES, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/magic or nonce differ/) });
  });

  it('openPeerSegment refuses a size larger than the file with a reason instead of mapping past its end (Note [a mapping never outgrows its file])', () => {
    const own = createSegment(BYTES, map(), dir);
    for (const bytes of [BYTES + 1, BYTES + 4096, BYTES * 64]) {
      expect(openPeerSegment(own.name, bytes, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/cannot map .*shorter than the mapping/) });
    }
    // A file shorter than even the header (written by someone else under a segment's name).
    const tiny = `gradmesh-${process.pid}-00000000000000ff`;
    writeFileSync(join(dir, tiny), 'abc');
    expect(openPeerSegment(tiny, BYTES, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/cannot map/) });
  });

  it('openPeerSegment refuses sizes that are not a whole number above the header', () => {
    const own = createSegment(BYTES, map(), dir);
    for (const bytes of [0, -1, SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(openPeerSegment(own.name, bytes, own.nonce, map(), dir), String(bytes)).toMatchObject({ reason: expect.stringMatching(/segment size .* is not valid/) });
    }
  });

  it('openPeerSegment refuses a symlink named like a segment (O_NOFOLLOW) and a directory named like one', () => {
    const own = createSegment(BYTES, map(), dir);
    const link = `gradmesh-${process.pid}-aaaaaaaaaaaaaaaa`;
    symlinkSync(join(dir, own.name), join(dir, link));
    expect(openPeerSegment(link, BYTES, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/cannot open .*ELOOP/) });
    const sub = `gradmesh-${process.pid}-bbbbbbbbbbbbbbbb`;
    mkdirSync(join(dir, sub));
    expect(openPeerSegment(sub, BYTES, own.nonce, map(), dir)).toHaveProperty('reason');
  });

  it('a process that exits without closing its segment removes the file on the way out', () => {
    const segmentJs = new URL('../../../transport/dist/shared-memory/segment.js', import.meta.url).href;
    const script = `import { createSegment, sharedMemoryMapper } from ${JSON.stringify(segmentJs)};
      const s = createSegment(${BYTES}, sharedMemoryMapper(), ${JSON.stringify(dir)});
      console.log(s.name);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^gradmesh-\d+-[0-9a-f]{16}$/);
    expect(segmentFiles()).toEqual([]);
  });

  it('openPeerSegment refuses a FIFO named like a segment at once (opened without blocking, then not a regular file)', () => {
    const own = createSegment(BYTES, map(), dir);
    const fifo = `gradmesh-${process.pid}-cccccccccccccccc`;
    const made = spawnSync('mkfifo', [join(dir, fifo)]);
    expect(made.status).toBe(0);
    const started = performance.now();
    expect(openPeerSegment(fifo, BYTES, own.nonce, map(), dir)).toMatchObject({ reason: expect.stringMatching(/not a regular file/) });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('sweepStaleSegments', () => {
  it('removes an old file of a dead pid, keeps those of a live pid or too young, and ignores other names', () => {
    const dead = deadPid();
    const stale = oldFile(`gradmesh-${dead}-0123456789abcdef`, 120_000);
    const young = oldFile(`gradmesh-${dead}-fedcba9876543210`, 10_000);
    const live = oldFile(`gradmesh-${process.pid}-0123456789abcdef`, 120_000);
    const others = [
      oldFile(`gradmesh-${dead}-xyz`, 120_000),
      oldFile(`gradmesh-${dead}-0123456789ABCDEF`, 120_000),
      oldFile(`other-${dead}-0123456789abcdef`, 120_000),
      oldFile(`gradmesh-${dead}-0123456789abcdef.bak`, 120_000),
    ];
    expect(sweepStaleSegments(dir)).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(live)).toBe(true);
    for (const f of others) expect(existsSync(f), f).toBe(true);
    // Nothing more to do; the young one goes once it is old enough.
    expect(sweepStaleSegments(dir)).toBe(0);
    expect(sweepStaleSegments(dir, Date.now() + 60_000)).toBe(1);
    expect(existsSync(young)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('createSegment sweeps its directory first', () => {
    if (unavailable !== undefined) return;
    const stale = oldFile(`gradmesh-${deadPid()}-0123456789abcdef`, 120_000);
    const own = createSegment(BYTES, map(), dir);
    expect(existsSync(stale)).toBe(false);
    expect(segmentFiles()).toEqual([own.name]);
  });

  it('a directory that does not exist sweeps nothing and does not throw', () => {
    expect(sweepStaleSegments(join(dir, 'missing'))).toBe(0);
  });
});

describe('hostKey', () => {
  it('is 64 hex characters and stable across calls', () => {
    const k = hostKey(dir);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(hostKey(dir)).toBe(k);
  });

  it('differs for another directory (another inode) and for a missing one', () => {
    const other = mkdtempSync(join(tmpdir(), 'gradmesh-segment-test-other-'));
    try {
      expect(hostKey(other)).not.toBe(hostKey(dir));
      expect(hostKey(join(dir, 'missing'))).not.toBe(hostKey(dir));
      expect(hostKey(join(dir, 'missing'))).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync('/dev/shm'))('differs between /dev/shm and a directory on another device', () => {
    if (statSync('/dev/shm').dev === statSync(dir).dev) return;
    expect(hostKey('/dev/shm')).not.toBe(hostKey(dir));
  });
});
