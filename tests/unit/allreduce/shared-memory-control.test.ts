/**
 * The shared-memory layer's link messages and slot bookkeeping (worker/src/allreduce/shared-memory/):
 * every message round-trips, a message that does not parse is reported (never thrown), and a slot is free again
 * only when every peer it was lent to has released it (Note [what the links carry beside shared memory]).
 */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import {
  CONTROL_MARK,
  decodeControl,
  encodeAnswer,
  encodeOffer,
  encodeRelease,
  encodeSlot,
  HOST_KEY_BYTES,
  isControlMessage,
  type ControlMessage,
} from '../../../worker/src/allreduce/shared-memory/control-messages.js';
import { SlotPool } from '../../../worker/src/allreduce/shared-memory/slot-pool.js';

const nonce = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const key = Uint8Array.from({ length: HOST_KEY_BYTES }, (_, i) => (i * 7 + 3) & 0xff);
const OFFER_FIXED = 12 + 16 + HOST_KEY_BYTES;

function decoded(frame: Uint8Array): ControlMessage {
  const m = decodeControl(frame);
  if ('malformed' in m) throw new Error(`expected a message, got malformed: ${m.malformed}`);
  return m;
}

/** decodeControl must answer `{ malformed }` and not throw. */
function expectMalformed(frame: Uint8Array, pattern?: RegExp): void {
  let m: ReturnType<typeof decodeControl> | undefined;
  expect(() => {
    m = decodeControl(frame);
  }).not.toThrow();
  expect(m).toHaveProperty('malformed');
  if (pattern) expect((m as { malformed: string }).malformed).toMatch(pattern);
}

/** The same bytes at an odd offset inside a larger buffer (a view, as a link may deliver it). */
function atOffset(frame: Uint8Array, offset = 3): Uint8Array {
  const big = new Uint8Array(frame.length + offset + 5).fill(0xee);
  big.set(frame, offset);
  return big.subarray(offset, offset + frame.length);
}

describe('shared-memory control messages', () => {
  it('an offer round-trips slotCount, slotBytes, nonce, host key and a utf8 name (also from a view at an odd offset)', () => {
    const name = 'gradmesh-1234-0123456789abcdef · ünïcødé ✓';
    const frame = encodeOffer(64, (1 << 20) + 64, nonce, key, name);
    expect(frame[0]).toBe(CONTROL_MARK);
    expect(frame.length).toBe(OFFER_FIXED + Buffer.byteLength(name, 'utf8'));
    for (const f of [frame, atOffset(frame)]) {
      const m = decoded(f);
      expect(m).toEqual({ kind: 'offer', slotCount: 64, slotBytes: (1 << 20) + 64, nonce, hostKey: key, name });
    }
    // Extremes of the u32 fields.
    expect(decoded(encodeOffer(0xffff_ffff, 0, nonce, key, 'x'))).toMatchObject({ slotCount: 0xffff_ffff, slotBytes: 0 });
  });

  it('an offer of the longest name (255 utf8 bytes) round-trips; a longer name, wrong nonce or key length are refused by the encoder', () => {
    const longest = 'é'.repeat(127) + 'x'; // 255 bytes
    expect(Buffer.byteLength(longest)).toBe(255);
    expect(decoded(encodeOffer(1, 64, nonce, key, longest))).toMatchObject({ kind: 'offer', name: longest });
    expect(() => encodeOffer(1, 64, nonce, key, 'x'.repeat(256))).toThrow(RangeError);
    expect(() => encodeOffer(1, 64, nonce.subarray(1), key, 'x')).toThrow(RangeError);
    expect(() => encodeOffer(1, 64, nonce, key.subarray(1), 'x')).toThrow(RangeError);
  });

  it('the decoded offer does not alias the frame (nonce and host key are copies)', () => {
    const frame = encodeOffer(2, 128, nonce, key, 'n');
    const m = decoded(frame) as Extract<ControlMessage, { kind: 'offer' }>;
    frame.fill(0);
    expect(m.nonce).toEqual(nonce);
    expect(m.hostKey).toEqual(key);
  });

  it('an answer round-trips mapped true and false', () => {
    expect(decoded(encodeAnswer(true))).toEqual({ kind: 'answer', mapped: true });
    expect(decoded(encodeAnswer(false))).toEqual({ kind: 'answer', mapped: false });
    expect(decoded(atOffset(encodeAnswer(true)))).toEqual({ kind: 'answer', mapped: true });
  });

  it('a slot notice round-trips (also written into a reused buffer at an offset)', () => {
    expect(decoded(encodeSlot(0, 1))).toEqual({ kind: 'slot', slot: 0, length: 1 });
    expect(decoded(encodeSlot(0xffff_ffff, 0xffff_ffff))).toEqual({ kind: 'slot', slot: 0xffff_ffff, length: 0xffff_ffff });
    const backing = new Uint8Array(40).fill(0x55);
    const out = backing.subarray(5, 17);
    expect(encodeSlot(3, 1000, out)).toBe(out);
    expect(decoded(out)).toEqual({ kind: 'slot', slot: 3, length: 1000 });
    encodeSlot(7, 9, out);
    expect(decoded(out)).toEqual({ kind: 'slot', slot: 7, length: 9 });
    expect(backing[4]).toBe(0x55);
    expect(backing[17]).toBe(0x55);
  });

  it('a release round-trips one slot and many slots, in order', () => {
    const one = decoded(encodeRelease([5]));
    expect(one.kind).toBe('release');
    expect([...(one as Extract<ControlMessage, { kind: 'release' }>).slots]).toEqual([5]);
    const many = Array.from({ length: 300 }, (_, i) => (i * 37) % 64).concat([0xffff_ffff]);
    const m = decoded(atOffset(encodeRelease(many))) as Extract<ControlMessage, { kind: 'release' }>;
    expect(m.slots).toBeInstanceOf(Uint32Array);
    expect([...m.slots]).toEqual(many);
  });

  it('isControlMessage: true for each kind, false for a piece frame (byte 0 = PROTOCOL_VERSION) and for frames under 4 bytes', () => {
    for (const f of [encodeOffer(1, 64, nonce, key, 'n'), encodeAnswer(true), encodeSlot(1, 2), encodeRelease([1])]) expect(isControlMessage(f)).toBe(true);
    const piece = new Uint8Array(64);
    piece[0] = PROTOCOL_VERSION;
    piece[1] = 3;
    expect(PROTOCOL_VERSION).not.toBe(CONTROL_MARK);
    expect(isControlMessage(piece)).toBe(false);
    expect(decodeControl(piece)).toHaveProperty('malformed');
    expect(isControlMessage(Uint8Array.of(CONTROL_MARK, 2, 1))).toBe(false);
    expect(isControlMessage(new Uint8Array(0))).toBe(false);
  });

  it('decodeControl reports (never throws) an unknown kind byte', () => {
    for (const kind of [0, 5, 9, 0xff]) expectMalformed(Uint8Array.of(CONTROL_MARK, kind, 0, 0, 0, 0, 0, 0), new RegExp(`control kind ${kind}`));
  });

  it('decodeControl reports a truncated or extended offer', () => {
    const frame = encodeOffer(4, 128, nonce, key, 'gradmesh-1-0123456789abcdef');
    // Without a name (exactly the fixed part), every shorter prefix, and one byte over the longest name.
    for (const n of [4, 8, 12, 30, OFFER_FIXED - 1, OFFER_FIXED]) expectMalformed(frame.subarray(0, n), /offer/);
    const over = new Uint8Array(OFFER_FIXED + 256);
    over.set(frame.subarray(0, OFFER_FIXED));
    expectMalformed(over, /offer/);
  });

  it('decodeControl reports an answer that is truncated, extended, or has a mapped flag other than 0 or 1', () => {
    expectMalformed(Uint8Array.of(CONTROL_MARK, 2, 1), /./); // under 4 bytes: not a control message at all
    expectMalformed(Uint8Array.of(CONTROL_MARK, 2, 1, 0, 0), /answer/);
    expectMalformed(Uint8Array.of(CONTROL_MARK, 2, 2, 0), /answer/);
    expectMalformed(Uint8Array.of(CONTROL_MARK, 2, 0xff, 0), /answer/);
  });

  it('decodeControl reports a slot notice that is not exactly 12 bytes', () => {
    const slot = encodeSlot(1, 2);
    for (const n of [4, 8, 11]) expectMalformed(slot.subarray(0, n), /slot notice/);
    const longer = new Uint8Array(13);
    longer.set(slot);
    expectMalformed(longer, /slot notice/);
  });

  it('decodeControl reports a release with count 0, a count that does not match the length, or under 8 bytes', () => {
    expectMalformed(Uint8Array.of(CONTROL_MARK, 4, 0, 0, 0, 0, 0, 0), /release/); // count 0
    expectMalformed(Uint8Array.of(CONTROL_MARK, 4, 0, 0), /release/); // no count
    expectMalformed(Uint8Array.of(CONTROL_MARK, 4, 0, 0, 1, 0, 0), /release/); // count cut short
    const two = encodeRelease([1, 2]);
    expectMalformed(two.subarray(0, two.length - 1), /release/); // last slot cut short
    expectMalformed(two.subarray(0, two.length - 4), /release/); // count 2, one slot
    const extra = new Uint8Array(two.length + 4);
    extra.set(two);
    expectMalformed(extra, /release/); // count 2, three slots
    const huge = encodeRelease([1]);
    new DataView(huge.buffer).setUint32(4, 0xffff_ffff, true);
    expectMalformed(huge, /release/); // a count that would need 16 GiB
  });
});

describe('SlotPool', () => {
  it('take hands out every slot once, then undefined', () => {
    const pool = new SlotPool(4, 3);
    const taken = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const s = pool.take();
      expect(s).toBeDefined();
      taken.add(s!);
      expect(pool.freeCount).toBe(3 - i);
    }
    expect([...taken].sort()).toEqual([0, 1, 2, 3]);
    expect(pool.take()).toBeUndefined();
    expect(pool.freeCount).toBe(0);
  });

  it('a slot lent to peers 1 and 2 is free only after both release it', () => {
    const pool = new SlotPool(2, 3);
    const s = pool.take()!;
    pool.lend(s, 1);
    pool.lend(s, 2);
    expect(pool.freeCount).toBe(1);
    expect(pool.release(s, 1)).toBe(true);
    expect(pool.freeCount).toBe(1);
    expect(pool.release(s, 1)).toBe(false); // a second release by the same peer
    expect(pool.freeCount).toBe(1);
    expect(pool.release(s, 2)).toBe(true);
    expect(pool.freeCount).toBe(2);
    // It is handed out again, and once more only after its readers release.
    const again = [pool.take(), pool.take()];
    expect(again).toContain(s);
    expect(pool.take()).toBeUndefined();
  });

  it('a release by a peer not reading the slot returns false and changes nothing (the slot stays held)', () => {
    const pool = new SlotPool(2, 3);
    const s = pool.take()!;
    pool.lend(s, 1);
    const free = pool.freeCount;
    expect(pool.release(s, 2)).toBe(false);
    expect(pool.release(s, 0)).toBe(false);
    expect(pool.freeCount).toBe(free);
    // The other slot, never taken: nobody reads it.
    const other = s === 0 ? 1 : 0;
    expect(pool.release(other, 1)).toBe(false);
    expect(pool.freeCount).toBe(free);
    // Peer 1 still holds s: its release is the one that frees it.
    expect(pool.release(s, 1)).toBe(true);
    expect(pool.freeCount).toBe(free + 1);
  });

  it('an out-of-range slot or peer (or a negative or fractional one) returns false and changes nothing', () => {
    const pool = new SlotPool(2, 3);
    const s = pool.take()!;
    pool.lend(s, 1);
    for (const [slot, peer] of [
      [2, 1],
      [0xffff_ffff, 1],
      [s, 3],
      [s, 1000],
      [-1, 1],
      [s, -1],
      [0.5, 1],
      [Number.NaN, 1],
      [s, Number.NaN],
    ] as const) {
      expect(pool.release(slot, peer)).toBe(false);
      expect(pool.freeCount).toBe(1);
    }
    expect(pool.release(s, 1)).toBe(true);
    expect(pool.freeCount).toBe(2);
  });

  it('giveBack of a slot lent to nobody frees it; of a lent slot does nothing', () => {
    const pool = new SlotPool(2, 2);
    const a = pool.take()!;
    expect(pool.freeCount).toBe(1);
    pool.giveBack(a);
    expect(pool.freeCount).toBe(2);
    const b = pool.take()!;
    pool.lend(b, 1);
    pool.giveBack(b);
    expect(pool.freeCount).toBe(1);
    expect(pool.release(b, 1)).toBe(true);
    expect(pool.freeCount).toBe(2);
  });

  it('giveBack of a slot that is already free changes nothing: no slot is ever handed out twice', () => {
    const pool = new SlotPool(2, 2);
    const a = pool.take()!;
    pool.giveBack(a);
    pool.giveBack(a);
    pool.giveBack(1 - a);
    expect(pool.freeCount).toBe(2);
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(taken[2]).toBeUndefined();
    expect(new Set(taken.slice(0, 2)).size).toBe(2);
  });
});
