import { PROTOCOL_VERSION } from '@gradmesh/shared/internal';

/**
 * Note [what the links carry beside shared memory]
 * Between ranks of one host the links still carry every message, but a frame's bytes travel in the sender's
 * segment and the link carries only a 12-byte notice of where. Control messages start with CONTROL_MARK, a first
 * byte no piece frame has (a piece starts with the protocol version, shared/src/protocol/pieces.ts), so pieces
 * sent inline — to a peer on another host, before a peer has mapped the segment, or when no slot is free — share
 * the link with them and keep their order.
 *
 *   offer    [mark, 1, 0, 0, slotCount u32, slotBytes u32, nonce 16 B, host key 32 B, name (utf8)]  sender → peer
 *   answer   [mark, 2, mapped u8, 0]                                                                 peer → sender
 *   slot     [mark, 3, 0, 0, slot u32, length u32]      a frame of `length` bytes is in slot `slot`   sender → peer
 *   release  [mark, 4, 0, 0, count u32, slot u32 × count]   the peer is done with these slots         peer → sender
 *
 * All integers little-endian. Whatever a message claims is checked by its receiver against what it knows
 * (shared-memory-piece-transport.ts); a message that does not parse is a broken protocol.
 */
export const CONTROL_MARK = 0xf5;
if ((PROTOCOL_VERSION as number) === CONTROL_MARK) throw new Error('the shared-memory control mark collides with the protocol version');

export const HOST_KEY_BYTES = 32;
const NONCE_BYTES = 16;
const OFFER_FIXED = 12 + NONCE_BYTES + HOST_KEY_BYTES;
const MAX_NAME_BYTES = 255;

export type ControlMessage =
  | { readonly kind: 'offer'; readonly slotCount: number; readonly slotBytes: number; readonly nonce: Uint8Array; readonly hostKey: Uint8Array; readonly name: string }
  | { readonly kind: 'answer'; readonly mapped: boolean }
  | { readonly kind: 'slot'; readonly slot: number; readonly length: number }
  | { readonly kind: 'release'; readonly slots: Uint32Array };

export function isControlMessage(frame: Uint8Array): boolean {
  return frame.length >= 4 && frame[0] === CONTROL_MARK;
}

export function encodeOffer(slotCount: number, slotBytes: number, nonce: Uint8Array, hostKey: Uint8Array, name: string): Uint8Array {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length < 1 || nameBytes.length > MAX_NAME_BYTES || nonce.length !== NONCE_BYTES || hostKey.length !== HOST_KEY_BYTES) throw new RangeError('shared-memory offer: name, nonce or host key out of range');
  const out = new Uint8Array(OFFER_FIXED + nameBytes.length);
  const view = new DataView(out.buffer);
  out[0] = CONTROL_MARK;
  out[1] = 1;
  view.setUint32(4, slotCount, true);
  view.setUint32(8, slotBytes, true);
  out.set(nonce, 12);
  out.set(hostKey, 12 + NONCE_BYTES);
  out.set(nameBytes, OFFER_FIXED);
  return out;
}

export function encodeAnswer(mapped: boolean): Uint8Array {
  return Uint8Array.of(CONTROL_MARK, 2, mapped ? 1 : 0, 0);
}

/** Writes a slot notice into `out` (12 bytes, reusable once written) and returns it. */
export function encodeSlot(slot: number, length: number, out = new Uint8Array(12)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, 12);
  out[0] = CONTROL_MARK;
  out[1] = 3;
  out[2] = 0;
  out[3] = 0;
  view.setUint32(4, slot, true);
  view.setUint32(8, length, true);
  return out;
}

export function encodeRelease(slots: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 + 4 * slots.length);
  const view = new DataView(out.buffer);
  out[0] = CONTROL_MARK;
  out[1] = 4;
  view.setUint32(4, slots.length, true);
  for (let i = 0; i < slots.length; i++) view.setUint32(8 + 4 * i, slots[i]!, true);
  return out;
}

/** The message, or a one-line reason why the bytes are not one. */
export function decodeControl(frame: Uint8Array): ControlMessage | { readonly malformed: string } {
  if (!isControlMessage(frame)) return { malformed: 'not a shared-memory control message' };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  switch (frame[1]) {
    case 1: {
      if (frame.length < OFFER_FIXED + 1 || frame.length > OFFER_FIXED + MAX_NAME_BYTES) return { malformed: `an offer of ${frame.length} bytes` };
      return {
        kind: 'offer',
        slotCount: view.getUint32(4, true),
        slotBytes: view.getUint32(8, true),
        nonce: frame.slice(12, 12 + NONCE_BYTES),
        hostKey: frame.slice(12 + NONCE_BYTES, OFFER_FIXED),
        name: Buffer.from(frame.buffer, frame.byteOffset + OFFER_FIXED, frame.length - OFFER_FIXED).toString('utf8'),
      };
    }
    case 2:
      if (frame.length !== 4 || frame[2]! > 1) return { malformed: `an answer of ${frame.length} bytes` };
      return { kind: 'answer', mapped: frame[2] === 1 };
    case 3:
      if (frame.length !== 12) return { malformed: `a slot notice of ${frame.length} bytes` };
      return { kind: 'slot', slot: view.getUint32(4, true), length: view.getUint32(8, true) };
    case 4: {
      const count = frame.length >= 8 ? view.getUint32(4, true) : -1;
      if (count < 1 || frame.length !== 8 + 4 * count) return { malformed: `a release of ${frame.length} bytes` };
      const slots = new Uint32Array(count);
      for (let i = 0; i < count; i++) slots[i] = view.getUint32(8 + 4 * i, true);
      return { kind: 'release', slots };
    }
    default:
      return { malformed: `control kind ${frame[1]}` };
  }
}
