import { describe, expect, it } from 'vitest';
import { MessageRejectedError } from '../../../shared/src/protocol/drops.js';
import { allocatePiece, copyPieceValues, framePiece, PIECE_HEADER_BYTES, readPieceHeader } from '../../../shared/src/protocol/pieces.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import { InternalError } from '../../../shared/src/errors.js';

const header = { family: 'rs', source: 513, generation: 0x01020304, step: 0xfffffffe, piece: 77 } as const;

describe('piece framing', () => {
  it('writes the 16-byte little-endian header and round-trips it', () => {
    const frame = framePiece(header, new Float32Array([1, -2.5]));
    expect(frame.length).toBe(PIECE_HEADER_BYTES + 8);
    expect(Array.from(frame.subarray(0, 8))).toEqual([PROTOCOL_VERSION, 1, 0x01, 0x02, 0x04, 0x03, 0x02, 0x01]);
    expect(readPieceHeader('s', frame)).toEqual(header);
  });

  it('copies values exactly (NaN payloads, -0, subnormals) into a target from a frame at an odd byte offset', () => {
    const raw = new Uint32Array([0x7fc00001, 0x80000000, 0x00000001, 0x3f800000, 0xff800000]);
    const values = new Float32Array(raw.buffer);
    const frame = framePiece(header, values);
    // Place the frame at byte offset 3 of a larger buffer: not 4-byte aligned, as msg.data may be.
    const host = new Uint8Array(frame.length + 5);
    host.set(frame, 3);
    const unaligned = host.subarray(3, 3 + frame.length);
    const target = new Float32Array(9);
    copyPieceValues(unaligned, target, 2, values.length);
    expect(Array.from(new Uint32Array(target.buffer).subarray(2, 7))).toEqual(Array.from(raw));
    expect(target[0]).toBe(0);
    expect(target[7]).toBe(0);
    expect(() => copyPieceValues(unaligned, target, 5, values.length)).toThrow(InternalError);
    expect(() => copyPieceValues(unaligned, target, 0, 4)).toThrow(/holds 5 values/);
  });

  it('framePiece copies: mutating the source after framing does not change the frame', () => {
    const v = new Float32Array([1, 2]);
    const frame = framePiece(header, v);
    v[0] = 99;
    const out = new Float32Array(2);
    copyPieceValues(frame, out, 0, 2);
    expect(Array.from(out)).toEqual([1, 2]);
  });

  it('allocatePiece gives an aligned Float32Array view of the frame payload', () => {
    const { frame, values } = allocatePiece(header, 3);
    values.set([4, 5, 6]);
    expect(values.byteOffset).toBe(PIECE_HEADER_BYTES);
    const out = new Float32Array(3);
    copyPieceValues(frame, out, 0, 3);
    expect(Array.from(out)).toEqual([4, 5, 6]);
  });

  it('rejects short frames, ragged payloads, other versions and unknown families with the drop reason', () => {
    const reasonOf = (bytes: Uint8Array): string => {
      try {
        readPieceHeader('gradmesh.r.rs.0', bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(MessageRejectedError);
        expect((e as Error).message).toContain('gradmesh.r.rs.0');
        return (e as MessageRejectedError).dropReason;
      }
      return 'accepted';
    };
    expect(reasonOf(new Uint8Array(15))).toBe('malformed');
    expect(reasonOf(new Uint8Array(PIECE_HEADER_BYTES + 3))).toBe('malformed');
    const frame = framePiece(header, new Float32Array(1));
    expect(reasonOf(frame)).toBe('accepted');
    const family = frame.slice();
    family[1] = 9;
    expect(reasonOf(family)).toBe('malformed');
    const version = frame.slice();
    version[0] = PROTOCOL_VERSION + 1;
    expect(reasonOf(version)).toBe('version');
  });

  it('refuses header fields outside their widths', () => {
    expect(() => framePiece({ ...header, source: 65536 }, new Float32Array(1))).toThrow(InternalError);
    expect(() => framePiece({ ...header, step: 2 ** 32 }, new Float32Array(1))).toThrow(InternalError);
  });
});
