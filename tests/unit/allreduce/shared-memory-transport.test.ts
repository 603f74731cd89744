/**
 * SharedMemoryPieceTransport (worker/src/allreduce/shared-memory-piece-transport.ts) between two ranks over an
 * in-process fake of the direct links: frames go through the sender's segment once the peer has mapped it, and
 * over the links otherwise (Note [pieces through shared memory]); whatever a peer claims is checked, and a message
 * that fails a check ends the data path with a ConnectionInterrupted — never with a view outside a mapped segment.
 * Segments live in a temporary directory of each test's own.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterError } from '../../../shared/src/errors.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import { SEGMENT_HEADER_BYTES, sharedMemoryMapper, type SegmentMapper } from '../../../transport/src/shared-memory/segment.js';
import { ConnectionInterrupted } from '../../../worker/src/allreduce/connection-interrupted.js';
import type { PieceSink } from '../../../worker/src/allreduce/piece-transport.js';
import {
  decodeControl,
  encodeAnswer,
  encodeOffer,
  encodeRelease,
  encodeSlot,
  isControlMessage,
  type ControlMessage,
} from '../../../worker/src/allreduce/shared-memory/control-messages.js';
import { SharedMemoryPieceTransport, SLOT_BYTES, type LinkTransport } from '../../../worker/src/allreduce/shared-memory-piece-transport.js';

const mapperOrReason = sharedMemoryMapper();
const unavailable = 'reason' in mapperOrReason ? mapperOrReason.reason : undefined;
const realMapper = (): SegmentMapper => mapperOrReason as SegmentMapper;

const KEY = 'a1'.repeat(32);
const OTHER_KEY = 'b2'.repeat(32);
const SLOTS = 4;

/** The in-process links between two ranks: frames are copied at sendTo and delivered in order, a microtask later. */
class FakeLink implements LinkTransport {
  readonly maxFrameBytes = 64 << 20;
  readonly maxPendingBytes = undefined;
  readonly sendsViews = true;
  readonly failure = undefined;
  other: FakeLink | undefined;
  sink: PieceSink | undefined;
  closed = false;
  /** Every frame this side put on the link, as delivered (after tamper). */
  readonly sent: { peer: number; frame: Uint8Array }[] = [];
  readonly released: Uint8Array[] = [];
  /** Rewrites this side's outgoing frames (a peer that lies about its segment). */
  tamper: ((frame: Uint8Array) => Uint8Array) | undefined;

  constructor(
    readonly rank: number,
    readonly peer: number,
  ) {}

  open(sink: PieceSink): void {
    this.sink = sink;
  }

  sendTo(peer: number, parts: readonly Uint8Array[], written?: () => void): void {
    if (peer !== this.peer) throw new Error(`fake link of rank ${this.rank} has no peer ${peer}`);
    let frame = concat(parts);
    if (this.tamper) frame = this.tamper(frame);
    this.sent.push({ peer, frame });
    const other = this.other;
    queueMicrotask(() => {
      other?.deliver(frame, this.rank);
      written?.();
    });
  }

  /** A frame as if the peer had sent it (after whatever is already on its way). */
  inject(frame: Uint8Array): void {
    queueMicrotask(() => this.deliver(frame, this.peer));
  }

  deliver(frame: Uint8Array, from: number): void {
    if (this.closed || this.sink === undefined) return;
    this.sink.onFrame(frame, undefined, undefined, from, 'fake link');
  }

  sendToOwner(owner: number, parts: readonly Uint8Array[]): void {
    this.sendTo(owner, parts);
  }

  sendToAll(frame: Uint8Array): void {
    this.sendTo(this.peer, [frame]);
  }

  sendToAllParts(parts: readonly Uint8Array[], written: () => void): void {
    this.sendTo(this.peer, parts, written);
  }

  whenWritten(_frame: Uint8Array, done: () => void): void {
    queueMicrotask(done);
  }

  isOwnedFrame(): boolean {
    return true;
  }

  releaseFrame(frame: Uint8Array): void {
    this.released.push(frame);
  }

  close(): void {
    this.closed = true;
  }
}

class RecordingSink implements PieceSink {
  readonly frames: { data: Uint8Array; senderRank: number | undefined; label: string }[] = [];
  readonly lost: ClusterError[] = [];
  onFrame(data: Uint8Array, _family: 'rs' | 'ag' | undefined, _owner: number | undefined, senderRank: number | undefined, label: string): void {
    this.frames.push({ data, senderRank, label });
  }
  onLost(error: ClusterError): void {
    this.lost.push(error);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A piece-like frame: byte 0 is the protocol version, the rest a pattern of `seed`. */
function pieceFrame(bytes: number, seed: number): Uint8Array {
  const f = new Uint8Array(bytes);
  for (let i = 1; i < bytes; i++) f[i] = (i * 131 + seed * 17 + (i >> 8)) & 0xff;
  f[0] = PROTOCOL_VERSION;
  return f;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function kindOf(frame: Uint8Array): string {
  if (!isControlMessage(frame)) return frame[0] === PROTOCOL_VERSION ? 'piece' : 'other';
  const m = decodeControl(frame);
  return 'malformed' in m ? 'malformed' : m.kind;
}

function control(frame: Uint8Array): ControlMessage {
  const m = decodeControl(frame);
  if ('malformed' in m) throw new Error(m.malformed);
  return m;
}

/** Lets every queued microtask (deliveries, answers, releases) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let dir: string;
let open: SharedMemoryPieceTransport[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradmesh-shm-transport-test-'));
});
afterEach(() => {
  for (const t of open) t.close();
  open = [];
  rmSync(dir, { recursive: true, force: true });
});

const segmentFiles = (): string[] => readdirSync(dir).filter((n) => n.startsWith('gradmesh-'));

interface Pair {
  t: [SharedMemoryPieceTransport, SharedMemoryPieceTransport];
  links: [FakeLink, FakeLink];
  sinks: [RecordingSink, RecordingSink];
}

function pair(options: { keys?: [string, string]; slotCount?: number; mappers?: [SegmentMapper | { reason: string } | undefined, SegmentMapper | { reason: string } | undefined] } = {}): Pair {
  const links: [FakeLink, FakeLink] = [new FakeLink(0, 1), new FakeLink(1, 0)];
  links[0].other = links[1];
  links[1].other = links[0];
  const make = (rank: 0 | 1): SharedMemoryPieceTransport => {
    const mapper = options.mappers?.[rank];
    return new SharedMemoryPieceTransport({
      links: links[rank],
      rank,
      worldSize: 2,
      hostKey: options.keys?.[rank] ?? KEY,
      segmentDir: dir,
      slotCount: options.slotCount ?? SLOTS,
      ...(mapper !== undefined ? { mapper } : {}),
    });
  };
  const t: [SharedMemoryPieceTransport, SharedMemoryPieceTransport] = [make(0), make(1)];
  const sinks: [RecordingSink, RecordingSink] = [new RecordingSink(), new RecordingSink()];
  t[0].open(sinks[0]);
  t[1].open(sinks[1]);
  open.push(...t);
  return { t, links, sinks };
}

/** A pair where rank 0 has sent one frame inline and rank 1 has mapped rank 0's segment. */
async function handshaken(options: Parameters<typeof pair>[0] = {}): Promise<Pair> {
  const p = pair(options);
  p.t[0].sendToOwner(1, [pieceFrame(64, 0)]);
  await settle();
  expect(p.t[0].peerPaths()).toEqual([{ peer: 1, path: 'memory' }]);
  expect(p.sinks[1].frames).toHaveLength(1);
  return p;
}

function expectViolation(p: Pair, at: 0 | 1, framesBefore: number, problem: RegExp): ConnectionInterrupted {
  const peer = 1 - at;
  const sink = p.sinks[at];
  expect(sink.lost).toHaveLength(1);
  const error = sink.lost[0]!;
  expect(error).toBeInstanceOf(ConnectionInterrupted);
  expect(error.message).toContain(`rank ${at}: rank ${peer} broke the shared-memory protocol`);
  expect(error.message).toMatch(problem);
  expect(error.context['rank']).toBe(peer);
  expect(p.t[at].failure).toBe(error);
  // Nothing was delivered for the forged message.
  expect(sink.frames).toHaveLength(framesBefore);
  return error as ConnectionInterrupted;
}

describe.skipIf(unavailable !== undefined)(`SharedMemoryPieceTransport over fake links (${unavailable ?? 'mapSharedFile available'})`, () => {
  it('the first frame goes over the link, after an offer of the segment; once answered, frames arrive as views into the sender\'s segment', async () => {
    const { t, links, sinks } = pair();
    expect(segmentFiles()).toHaveLength(2); // each rank created its segment at open
    const first = pieceFrame(100, 1);
    t[0].sendToOwner(1, [first]);
    expect(links[0].sent.map((s) => kindOf(s.frame))).toEqual(['offer', 'piece']);
    const offer = control(links[0].sent[0]!.frame) as Extract<ControlMessage, { kind: 'offer' }>;
    expect(offer).toMatchObject({ slotCount: SLOTS, slotBytes: SLOT_BYTES });
    expect(Buffer.from(offer.hostKey).toString('hex')).toBe(KEY);
    expect(segmentFiles()).toContain(offer.name);
    expect(same(links[0].sent[1]!.frame, first)).toBe(true);
    expect(t[0].sent).toMatchObject({ memory: 0, links: 1 });
    expect(t[0].peerPaths()).toEqual([{ peer: 1, path: 'links', why: 'no answer yet' }]);

    await settle();
    // Rank 1 got the inline frame as the link delivered it, never the offer; it answered "mapped".
    expect(sinks[1].frames).toHaveLength(1);
    expect(sinks[1].frames[0]!.data).toBe(links[0].sent[1]!.frame);
    expect(sinks[1].frames[0]!.data[0]).toBe(PROTOCOL_VERSION);
    expect(sinks[1].frames[0]!.senderRank).toBe(0);
    expect(links[1].sent.map((s) => s.frame)).toEqual([encodeAnswer(true)]);
    expect(links[1].released).toContain(links[0].sent[0]!.frame); // the offer went back to the links
    expect(t[1].refusals()[0]).toBeUndefined();
    expect(t[0].peerPaths()).toEqual([{ peer: 1, path: 'memory' }]);

    const second = pieceFrame(5000, 2);
    t[0].sendToOwner(1, [second]);
    expect(t[0].sent).toMatchObject({ memory: 1, links: 1 });
    const notice = links[0].sent[2]!.frame;
    expect(control(notice)).toMatchObject({ kind: 'slot', length: 5000 });
    expect(notice.length).toBe(12);
    await settle();
    expect(sinks[1].frames).toHaveLength(2);
    const view = sinks[1].frames[1]!.data;
    expect(view.buffer).not.toBe(notice.buffer);
    expect(view.buffer.byteLength).toBe(SEGMENT_HEADER_BYTES + SLOTS * SLOT_BYTES);
    expect(view.byteLength).toBe(5000);
    expect(same(view, second)).toBe(true);
    expect(sinks[1].frames[1]!.senderRank).toBe(0);
    // Frames of several parts and a broadcast go through memory too.
    t[0].sendToOwner(1, [second.subarray(0, 10), second.subarray(10)]);
    t[0].sendToAll(first);
    await settle();
    expect(t[0].sent).toMatchObject({ memory: 3, links: 1 });
    expect(same(sinks[1].frames[2]!.data, second)).toBe(true);
    expect(same(sinks[1].frames[3]!.data, first)).toBe(true);
    expect(sinks[1].lost).toEqual([]);
    expect(sinks[0].lost).toEqual([]);
  });

  it('a slot is reused only after the receiver releases its view: with one slot, B goes inline while A is held, C through memory after A is released', async () => {
    const { t, links, sinks } = await handshaken({ slotCount: 1 });
    const [a, b, c] = [pieceFrame(3000, 10), pieceFrame(3000, 11), pieceFrame(3000, 12)];
    t[0].sendToOwner(1, [a]);
    await settle();
    expect(t[0].sent).toMatchObject({ memory: 1, links: 1 });
    const viewA = sinks[1].frames[1]!.data;
    expect(same(viewA, a)).toBe(true);

    t[0].sendToOwner(1, [b]);
    expect(t[0].sent).toMatchObject({ memory: 1, links: 2, noSlot: 1 });
    expect(same(links[0].sent.at(-1)!.frame, b)).toBe(true);
    await settle();
    expect(same(sinks[1].frames[2]!.data, b)).toBe(true);
    expect(same(viewA, a)).toBe(true); // A's slot was not written under the held view

    // An inline frame goes back to the links; a view does not (its slot is released to the sender instead).
    t[1].releaseFrame(sinks[1].frames[2]!.data);
    expect(links[1].released).toContain(sinks[1].frames[2]!.data);
    t[1].releaseFrame(viewA);
    expect(links[1].released).not.toContain(viewA);
    await settle();
    const release = control(links[1].sent.at(-1)!.frame);
    expect(release.kind).toBe('release');
    expect([...(release as Extract<ControlMessage, { kind: 'release' }>).slots]).toEqual([0]);

    t[0].sendToOwner(1, [c]);
    expect(t[0].sent).toMatchObject({ memory: 2, links: 2 });
    await settle();
    expect(same(sinks[1].frames[3]!.data, c)).toBe(true);
    expect(sinks[0].lost).toEqual([]);
    expect(sinks[1].lost).toEqual([]);
  });

  it('releases of several views made in one turn travel in one release message', async () => {
    const { t, links, sinks } = await handshaken();
    for (let i = 0; i < 3; i++) t[0].sendToOwner(1, [pieceFrame(100, i)]);
    await settle();
    const views = sinks[1].frames.slice(1).map((f) => f.data);
    expect(views).toHaveLength(3);
    const before = links[1].sent.length;
    for (const v of views) t[1].releaseFrame(v);
    await settle();
    expect(links[1].sent).toHaveLength(before + 1);
    const m = control(links[1].sent.at(-1)!.frame) as Extract<ControlMessage, { kind: 'release' }>;
    expect([...m.slots].sort()).toHaveLength(3);
    // All slots are free again: four more frames all go through memory.
    for (let i = 0; i < SLOTS; i++) t[0].sendToOwner(1, [pieceFrame(100, i)]);
    expect(t[0].sent).toMatchObject({ memory: 3 + SLOTS, links: 1, noSlot: 0 });
    expect(sinks[0].lost).toEqual([]);
  });

  it('sendToAllParts through memory: written runs once, after the copy; changing the parts then does not change what the receiver got', async () => {
    const { t, sinks } = await handshaken();
    const header = pieceFrame(16, 3);
    const values = new Uint8Array(new Float32Array(2048).map((_, i) => i * 0.5 - 7).buffer); // 8 KiB: the aligned-copy path
    const expected = concat([header, values]);
    let calls = 0;
    t[0].sendToAllParts!([header, values], () => {
      calls++;
      header.fill(0);
      values.fill(0xff);
    });
    expect(calls).toBe(0);
    await settle();
    expect(calls).toBe(1);
    expect(t[0].sent.memory).toBe(1);
    const got = sinks[1].frames.at(-1)!.data;
    expect(got.byteLength).toBe(expected.byteLength);
    expect(same(got, expected)).toBe(true);
  });

  it('sendToAllParts inline (before the answer): written runs once, after the link wrote it; the receiver keeps the bytes sent', async () => {
    const { t, sinks } = pair();
    const header = pieceFrame(16, 4);
    const values = pieceFrame(8192, 5).fill(7, 1);
    const expected = concat([header, values]);
    let calls = 0;
    t[0].sendToAllParts!([header, values], () => {
      calls++;
      header.fill(0);
      values.fill(0);
    });
    await settle();
    expect(calls).toBe(1);
    expect(t[0].sent).toMatchObject({ memory: 0, links: 1 });
    expect(same(sinks[1].frames[0]!.data, expected)).toBe(true);
  });

  it('whenWritten: done runs once after a frame sent with sendToAll / sendToOwner is written (memory or links)', async () => {
    const { t } = pair();
    const f = pieceFrame(200, 6);
    let done = 0;
    t[0].whenWritten(f, () => done++);
    t[0].sendToAll(f); // inline (no answer yet)
    await settle();
    expect(done).toBe(1);
    expect(t[0].peerPaths()[0]!.path).toBe('memory');
    let done2 = 0;
    t[0].whenWritten(f, () => done2++);
    t[0].sendToOwner(1, [f]); // through memory
    await settle();
    expect(done2).toBe(1);
    expect(t[0].sent).toMatchObject({ memory: 1, links: 1 });
  });

  it('a frame bigger than SLOT_BYTES goes over the link; one of exactly SLOT_BYTES through memory', async () => {
    const { t, links, sinks } = await handshaken();
    const big = pieceFrame(SLOT_BYTES + 1, 7);
    t[0].sendToOwner(1, [big]);
    expect(t[0].sent).toMatchObject({ memory: 0, links: 2 });
    expect(same(links[0].sent.at(-1)!.frame, big)).toBe(true);
    const exact = pieceFrame(SLOT_BYTES, 8);
    t[0].sendToOwner(1, [exact]);
    expect(t[0].sent).toMatchObject({ memory: 1, links: 2 });
    await settle();
    expect(same(sinks[1].frames[1]!.data, big)).toBe(true);
    expect(same(sinks[1].frames[2]!.data, exact)).toBe(true);
    expect(sinks[1].frames[2]!.data.buffer.byteLength).toBe(SEGMENT_HEADER_BYTES + SLOTS * SLOT_BYTES);
  });

  it('different host keys: the receiver answers "not mapped" (another host), every frame stays on the link, and nothing fails', async () => {
    const { t, links, sinks } = pair({ keys: [KEY, OTHER_KEY] });
    const frames = [pieceFrame(100, 1), pieceFrame(5000, 2), pieceFrame(64, 3)];
    t[0].sendToOwner(1, [frames[0]!]);
    await settle();
    expect(links[1].sent.map((s) => s.frame)).toEqual([encodeAnswer(false)]);
    expect(t[1].refusals()[0]).toMatch(/another host/);
    expect(t[0].peerPaths()).toEqual([{ peer: 1, path: 'links', why: expect.stringMatching(/could not map/) }]);
    t[0].sendToOwner(1, [frames[1]!]);
    t[0].sendToAll(frames[2]!);
    // And the other way round.
    t[1].sendToOwner(0, [frames[1]!]);
    await settle();
    expect(t[0].refusals()[1]).toMatch(/another host/);
    expect(t[1].peerPaths()).toEqual([{ peer: 0, path: 'links', why: expect.stringMatching(/could not map/) }]);
    expect(t[0].sent).toMatchObject({ memory: 0, links: 3 });
    expect(t[1].sent).toMatchObject({ memory: 0, links: 1 });
    expect(sinks[1].frames.map((f) => f.data)).toEqual(frames);
    expect(sinks[1].frames.every((f) => !isControlMessage(f.data))).toBe(true);
    expect(sinks[0].frames.map((f) => f.data)).toEqual([frames[1]]);
    expect(t[0].failure).toBeUndefined();
    expect(t[1].failure).toBeUndefined();
    // Both answered: neither segment file is needed any more.
    expect(segmentFiles()).toEqual([]);
  });

  it('a rank without the native functions (mapper { reason }) offers nothing, refuses offers with that reason, and uses the links', async () => {
    const { t, links, sinks } = pair({ mappers: [{ reason: 'no addon in this test' }, undefined] });
    expect(segmentFiles()).toHaveLength(1); // only rank 1's
    t[0].sendToOwner(1, [pieceFrame(100, 1)]);
    expect(links[0].sent.map((s) => kindOf(s.frame))).toEqual(['piece']);
    expect(t[0].peerPaths()).toEqual([{ peer: 1, path: 'links', why: 'no addon in this test' }]);
    t[1].sendToOwner(0, [pieceFrame(100, 2)]);
    await settle();
    expect(t[0].refusals()[1]).toBe('no addon in this test');
    expect(links[0].sent.map((s) => kindOf(s.frame))).toEqual(['piece', 'answer']);
    expect(control(links[0].sent[1]!.frame)).toEqual({ kind: 'answer', mapped: false });
    t[1].sendToOwner(0, [pieceFrame(5000, 3)]);
    await settle();
    expect(t[1].sent).toMatchObject({ memory: 0, links: 2 });
    expect(sinks[0].frames).toHaveLength(2);
    expect(sinks[1].frames).toHaveLength(1);
    expect([t[0].failure, t[1].failure]).toEqual([undefined, undefined]);
  });

  it('a slot whose pages cannot be reserved is not used: the frame goes over the link (noRoom), and the slot is given back', async () => {
    let room = false;
    const real = realMapper();
    const tight: SegmentMapper = { map: real.map, unmap: real.unmap, reserve: (fd, offset, bytes) => (offset === 0 || room) && real.reserve(fd, offset, bytes) };
    const { t, sinks } = await handshaken({ slotCount: 1, mappers: [tight, undefined] });
    const a = pieceFrame(5000, 1);
    t[0].sendToOwner(1, [a]);
    expect(t[0].sent).toMatchObject({ memory: 0, links: 2, noRoom: 1 });
    room = true;
    const b = pieceFrame(5000, 2);
    t[0].sendToOwner(1, [b]); // the only slot is free again
    expect(t[0].sent).toMatchObject({ memory: 1, links: 2, noRoom: 1, noSlot: 0 });
    await settle();
    expect(same(sinks[1].frames[1]!.data, a)).toBe(true);
    expect(same(sinks[1].frames[2]!.data, b)).toBe(true);
    expect(sinks[1].lost).toEqual([]);
  });

  describe('an offer the receiver cannot map is answered "not mapped" (no failure), and frames stay on the link', () => {
    const cases: { what: string; forge: (o: Extract<ControlMessage, { kind: 'offer' }>) => Uint8Array; reason: RegExp }[] = [
      { what: 'a file that does not exist', forge: (o) => encodeOffer(o.slotCount, o.slotBytes, o.nonce, o.hostKey, `gradmesh-${process.pid}-0123456789abcdef`), reason: /cannot open .*ENOENT/ },
      { what: 'a path, not a segment name', forge: (o) => encodeOffer(o.slotCount, o.slotBytes, o.nonce, o.hostKey, `../${o.name}`), reason: /is not a gradmesh segment/ },
      { what: 'a name of the wrong shape', forge: (o) => encodeOffer(o.slotCount, o.slotBytes, o.nonce, o.hostKey, 'gradmesh-1-xyz'), reason: /is not a gradmesh segment/ },
      { what: 'the wrong nonce', forge: (o) => encodeOffer(o.slotCount, o.slotBytes, new Uint8Array(16).fill(9), o.hostKey, o.name), reason: /magic or nonce differ/ },
      { what: 'more slots than the file holds', forge: (o) => encodeOffer(o.slotCount * 2, o.slotBytes, o.nonce, o.hostKey, o.name), reason: /cannot map .*shorter than the mapping/ },
      { what: 'larger slots than the file holds', forge: (o) => encodeOffer(o.slotCount, o.slotBytes * 2, o.nonce, o.hostKey, o.name), reason: /cannot map .*shorter than the mapping/ },
    ];
    for (const c of cases) {
      it(`an offer naming ${c.what}`, async () => {
        const p = pair();
        p.links[0].tamper = (frame) => (kindOf(frame) === 'offer' ? c.forge(control(frame) as Extract<ControlMessage, { kind: 'offer' }>) : frame);
        const frames = [pieceFrame(100, 1), pieceFrame(5000, 2)];
        p.t[0].sendToOwner(1, [frames[0]!]);
        await settle();
        expect(p.links[1].sent.map((s) => s.frame)).toEqual([encodeAnswer(false)]);
        expect(p.t[1].refusals()[0]).toMatch(c.reason);
        p.t[0].sendToOwner(1, [frames[1]!]);
        await settle();
        expect(p.t[0].sent).toMatchObject({ memory: 0, links: 2 });
        expect(p.t[0].peerPaths()).toEqual([{ peer: 1, path: 'links', why: expect.stringMatching(/could not map/) }]);
        expect(p.sinks[1].frames.map((f) => f.data)).toEqual(frames);
        expect([p.t[0].failure, p.t[1].failure]).toEqual([undefined, undefined]);
        expect([p.sinks[0].lost, p.sinks[1].lost]).toEqual([[], []]);
      });
    }
  });

  describe('a message that breaks the protocol ends the transport with a ConnectionInterrupted naming the peer and the problem, and delivers nothing', () => {
    it('a slot notice for a slot ≥ the peer\'s slotCount', async () => {
      const p = await handshaken();
      p.links[1].inject(encodeSlot(SLOTS, 10));
      await settle();
      expectViolation(p, 1, 1, new RegExp(`slot ${SLOTS} of 10 bytes is outside its ${SLOTS} slots`));
    });

    it('a slot notice of length 0', async () => {
      const p = await handshaken();
      p.links[1].inject(encodeSlot(0, 0));
      await settle();
      expectViolation(p, 1, 1, /slot 0 of 0 bytes is outside/);
    });

    it('a slot notice longer than a slot', async () => {
      const p = await handshaken();
      p.links[1].inject(encodeSlot(0, SLOT_BYTES + 1));
      await settle();
      expectViolation(p, 1, 1, new RegExp(`slot 0 of ${SLOT_BYTES + 1} bytes is outside`));
    });

    it('a slot notice for a slot this rank still holds (sent twice without a release)', async () => {
      const p = await handshaken();
      p.t[0].sendToOwner(1, [pieceFrame(300, 1)]);
      await settle();
      expect(p.sinks[1].frames).toHaveLength(2);
      const notice = p.links[0].sent.at(-1)!.frame;
      const { slot } = control(notice) as Extract<ControlMessage, { kind: 'slot' }>;
      p.links[1].inject(new Uint8Array(notice));
      await settle();
      expectViolation(p, 1, 2, new RegExp(`slot ${slot} reused before this rank released it`));
    });

    it('a slot notice before any offer', async () => {
      const p = pair();
      p.links[1].inject(encodeSlot(0, 10));
      await settle();
      expectViolation(p, 1, 0, /a slot notice without a mapped segment/);
    });

    it('a slot notice from a peer whose offer was refused', async () => {
      const p = pair({ keys: [KEY, OTHER_KEY] });
      p.t[0].sendToOwner(1, [pieceFrame(100, 1)]);
      await settle();
      p.links[1].inject(encodeSlot(0, 10));
      await settle();
      expectViolation(p, 1, 1, /a slot notice without a mapped segment/);
    });

    it('a release of a slot the peer was never lent', async () => {
      const p = pair();
      p.links[0].inject(encodeRelease([0]));
      await settle();
      expectViolation(p, 0, 0, /a release of slot 0, which it was not reading/);
    });

    it('a release of a slot outside the segment', async () => {
      const p = pair();
      p.links[0].inject(encodeRelease([0xffff_ffff]));
      await settle();
      expectViolation(p, 0, 0, /a release of slot 4294967295, which it was not reading/);
    });

    it('a second release of a slot already released', async () => {
      const p = await handshaken();
      p.t[0].sendToOwner(1, [pieceFrame(300, 1)]);
      await settle();
      p.t[1].releaseFrame(p.sinks[1].frames[1]!.data);
      await settle();
      const release = p.links[1].sent.at(-1)!.frame;
      expect(kindOf(release)).toBe('release');
      expect(p.sinks[0].lost).toEqual([]);
      p.links[0].inject(new Uint8Array(release));
      await settle();
      expectViolation(p, 0, 0, /a release of slot \d+, which it was not reading/);
    });

    it('an answer with no offer', async () => {
      const p = pair();
      p.links[0].inject(encodeAnswer(true));
      await settle();
      expectViolation(p, 0, 0, /an answer to no offer/);
    });

    it('a second answer', async () => {
      const p = await handshaken();
      p.links[0].inject(encodeAnswer(true));
      await settle();
      expectViolation(p, 0, 0, /an answer to no offer/);
    });

    it('a second offer (after one that was mapped)', async () => {
      const p = await handshaken();
      const first = control(p.links[0].sent[0]!.frame) as Extract<ControlMessage, { kind: 'offer' }>;
      p.links[1].inject(encodeOffer(first.slotCount, first.slotBytes, first.nonce, first.hostKey, first.name));
      await settle();
      expectViolation(p, 1, 1, /a second offer/);
    });

    it('a second offer (after one that was refused)', async () => {
      const p = pair({ keys: [KEY, OTHER_KEY] });
      p.t[0].sendToOwner(1, [pieceFrame(100, 1)]);
      await settle();
      expect(p.t[1].refusals()[0]).toMatch(/another host/);
      p.links[1].inject(new Uint8Array(p.links[0].sent[0]!.frame));
      await settle();
      expectViolation(p, 1, 1, /a second offer/);
    });

    for (const [slotCount, slotBytes] of [
      [0, SLOT_BYTES],
      [65, SLOT_BYTES],
      [4, 100],
      [4, 0],
      [4, 128 << 20],
    ] as const) {
      it(`an offer of ${slotCount} slots of ${slotBytes} bytes`, async () => {
        const p = pair();
        p.links[1].inject(encodeOffer(slotCount, slotBytes, new Uint8Array(16), Buffer.from(KEY, 'hex'), `gradmesh-${process.pid}-0123456789abcdef`));
        await settle();
        expectViolation(p, 1, 0, new RegExp(`an offer of ${slotCount} slots of ${slotBytes} bytes`));
        expect(p.links[1].sent).toEqual([]); // not even answered
      });
    }

    it('an undecodable control message (kind 9)', async () => {
      const p = pair();
      p.links[1].inject(Uint8Array.of(0xf5, 9, 0, 0));
      await settle();
      expectViolation(p, 1, 0, /control kind 9/);
    });

    it('a release of count 0 and a truncated slot notice', async () => {
      const p = pair();
      p.links[0].inject(Uint8Array.of(0xf5, 4, 0, 0, 0, 0, 0, 0));
      await settle();
      expectViolation(p, 0, 0, /a release of 8 bytes/);
      p.links[1].inject(encodeSlot(0, 10).subarray(0, 8));
      await settle();
      expectViolation(p, 1, 0, /a slot notice of 8 bytes/);
    });

    it('after the failure: onLost is not called again, and sends put nothing on the link (written still runs)', async () => {
      const p = await handshaken();
      p.links[1].inject(Uint8Array.of(0xf5, 9, 0, 0));
      p.links[1].inject(encodeSlot(SLOTS + 1, 10));
      await settle();
      expectViolation(p, 1, 1, /control kind 9/);
      const before = p.links[1].sent.length;
      let written = 0;
      p.t[1].sendToAllParts!([pieceFrame(100, 1)], () => written++);
      p.t[1].sendToOwner(0, [pieceFrame(100, 2)]);
      await settle();
      expect(written).toBe(1);
      expect(p.links[1].sent).toHaveLength(before);
      expect(p.sinks[1].lost).toHaveLength(1);
    });

    it('after the failure nothing more reaches the all-reduce: neither a valid slot notice nor an inline piece', async () => {
      const p = await handshaken();
      p.links[1].inject(Uint8Array.of(0xf5, 9, 0, 0));
      await settle();
      expectViolation(p, 1, 1, /control kind 9/);
      const delivered = p.sinks[1].frames.length;
      p.t[0].sendToOwner(1, [pieceFrame(100, 3)]);
      p.links[1].inject(pieceFrame(100, 4));
      await settle();
      expect(p.sinks[1].frames).toHaveLength(delivered);
    });
  });

  it('once the peer has answered, the sender\'s segment file is unlinked (before close); close() removes a file still there', async () => {
    const { t, links } = pair();
    expect(segmentFiles()).toHaveLength(2);
    t[0].sendToOwner(1, [pieceFrame(100, 1)]);
    const name0 = (control(links[0].sent[0]!.frame) as Extract<ControlMessage, { kind: 'offer' }>).name;
    await settle();
    expect(segmentFiles()).not.toContain(name0);
    expect(segmentFiles()).toHaveLength(1); // rank 1 has offered nothing yet
    // The mapping outlives the name: frames still go through memory.
    t[0].sendToOwner(1, [pieceFrame(100, 2)]);
    expect(t[0].sent.memory).toBe(1);
    t[1].close();
    expect(segmentFiles()).toEqual([]);
    expect(links[1].closed).toBe(true);
  });

  it('close() unmaps what this rank mapped (Note [unmapped when closed]): a view delivered from the peer\'s segment has length 0 afterwards', async () => {
    const p = await handshaken();
    p.t[0].sendToOwner(1, [pieceFrame(100, 7)]);
    await settle();
    const view = p.sinks[1].frames.at(-1)!.data;
    expect(view.length).toBeGreaterThan(0);
    p.t[1].close();
    expect(view.length).toBe(0);
    expect(view.buffer.byteLength).toBe(0);
  });

  it('close() unlinks this rank\'s segment file, also when no peer ever answered, and is idempotent', () => {
    const { t, links } = pair();
    t[0].sendToOwner(1, [pieceFrame(100, 1)]); // offered, not yet answered
    expect(segmentFiles()).toHaveLength(2);
    t[0].close();
    t[1].close();
    expect(segmentFiles()).toEqual([]);
    expect(links[0].closed && links[1].closed).toBe(true);
    expect(() => t[0].close()).not.toThrow();
    // Nothing is sent after close.
    const before = links[0].sent.length;
    t[0].sendToOwner(1, [pieceFrame(100, 2)]);
    expect(links[0].sent).toHaveLength(before);
  });
});
