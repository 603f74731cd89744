import { endianness } from 'node:os';
import { InternalError, ProtocolError } from '../errors.js';
import { MessageRejectedError } from './drops.js';
import type { DataFamily } from './subjects.js';
import { PROTOCOL_VERSION } from './version.js';
import { encodedElements, type Compression } from './compression.js';

/**
 * Framing of gradient pieces: a 16-byte little-endian header, then the raw float32 values.
 *
 *   byte  0      u8   protocol version (PROTOCOL_VERSION)
 *   byte  1      u8   low 4 bits: family: 1 = rs (reduce-scatter), 2 = ag (all-gather), 3 = a2a (test oracle);
 *                     high 4 bits: encoding of the values: 0 = float32, 1 = bf16, 2 = fp16 (compression.ts)
 *   bytes 2–3    u16  source rank
 *   bytes 4–7    u32  membership generation
 *   bytes 8–11   u32  step
 *   bytes 12–15  u32  piece index (global, in the all-reduce layout; the layout maps it to chunk and range)
 *   bytes 16–    f32[] values, little-endian (bf16: u16[] values; fp16: an f32 scale, then u16[] values)
 *
 * Why raw bytes: msgpackr 2.1.3 with default options silently corrupts a Float32Array, and a raw copy is
 * exact and runs at memcpy speed. The header is 16 bytes so that the values of a frame allocated here start
 * 4-byte aligned and can be viewed as a Float32Array in place (the owner sums straight into its outgoing frame).
 *
 * Why copy on receipt when unaligned: a small `msg.data` is a view into the client's socket buffer at any byte
 * offset, so its values are not necessarily 4-byte aligned and cannot be viewed as a Float32Array; copying its
 * bytes into the target's underlying bytes is exact (no float conversion) and fast. A frame whose values are
 * aligned (always for a large payload received into a buffer of its own) is viewed in place instead
 * (`alignedPieceValues`).
 *
 * Endianness: the wire is little-endian and the values are copied as native bytes, which is only right on a
 * little-endian host (x86-64, arm64 — every machine gradmesh targets). `assertLittleEndian` checks it once.
 */
export const PIECE_HEADER_BYTES = 16;

export interface PieceHeader {
  readonly family: DataFamily;
  readonly source: number;
  readonly generation: number;
  readonly step: number;
  readonly piece: number;
  /** How the values are encoded (absent: float32). */
  readonly encoding?: Compression;
}

const ENCODING_CODE: Readonly<Record<Compression, number>> = { none: 0, bf16: 1, fp16: 2 };
const CODE_ENCODING: readonly (Compression | undefined)[] = ['none', 'bf16', 'fp16'];

const FAMILY_CODE: Readonly<Record<DataFamily, number>> = { rs: 1, ag: 2, a2a: 3 };
const CODE_FAMILY: readonly (DataFamily | undefined)[] = [undefined, 'rs', 'ag', 'a2a'];

let endiannessChecked = false;

/** Throws once-checked ProtocolError on a big-endian host, where native float bytes are not the wire format. */
export function assertLittleEndian(): void {
  if (endiannessChecked) return;
  if (endianness() !== 'LE') {
    throw new ProtocolError('(gradient pieces)', `this host is big-endian (${endianness()}); gradmesh sends float32 as little-endian native bytes`, {
      hint: 'run gradmesh workers on a little-endian machine (x86-64 or arm64)',
    });
  }
  endiannessChecked = true;
}

function u32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new InternalError(`piece header ${field} must be a u32, got ${value}`);
  return value;
}

function writeHeader(frame: Uint8Array, header: PieceHeader): void {
  if (!Number.isInteger(header.source) || header.source < 0 || header.source > 0xffff) {
    throw new InternalError(`piece header source must be a u16 rank, got ${header.source}`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, PIECE_HEADER_BYTES);
  view.setUint8(0, PROTOCOL_VERSION);
  view.setUint8(1, FAMILY_CODE[header.family] | (ENCODING_CODE[header.encoding ?? 'none'] << 4));
  view.setUint16(2, header.source, true);
  view.setUint32(4, u32(header.generation, 'generation'), true);
  view.setUint32(8, u32(header.step, 'step'), true);
  view.setUint32(12, u32(header.piece, 'piece'), true);
}

/**
 * A fresh frame for `elements` values, with `values` viewing its payload (aligned: the frame owns its buffer).
 * The caller fills `values` and publishes `frame`, and must not touch either afterwards: the NATS client
 * holds a reference to a published buffer until the socket has written it.
 */
export function allocatePiece(header: PieceHeader, elements: number): { frame: Uint8Array; values: Float32Array } {
  assertLittleEndian();
  const frame = new Uint8Array(PIECE_HEADER_BYTES + elements * 4);
  writeHeader(frame, header);
  return { frame, values: new Float32Array(frame.buffer, PIECE_HEADER_BYTES, elements) };
}

/** A fresh frame holding a copy of `values` (which the caller may then mutate freely). */
export function framePiece(header: PieceHeader, values: Float32Array): Uint8Array {
  const piece = allocatePiece(header, values.length);
  piece.values.set(values);
  return piece.frame;
}

/**
 * The 16-byte header alone, for a sender that publishes header and values as separate parts of one message
 * (the receiver sees the same bytes as from `allocatePiece`).
 */
export function pieceHeaderBytes(header: PieceHeader): Uint8Array {
  assertLittleEndian();
  const bytes = new Uint8Array(PIECE_HEADER_BYTES);
  writeHeader(bytes, header);
  return bytes;
}

/**
 * Reads and validates a frame's header. Throws MessageRejectedError ('malformed' or 'version') naming the
 * subject; the payload size is checked against the layout by the caller, who knows the piece.
 */
export function readPieceHeader(subject: string, frame: Uint8Array): PieceHeader {
  if (frame.length < PIECE_HEADER_BYTES) {
    throw new MessageRejectedError(subject, 'malformed', 'piece', `${frame.length} bytes is shorter than the ${PIECE_HEADER_BYTES}-byte piece header`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, PIECE_HEADER_BYTES);
  const version = view.getUint8(0);
  const source = view.getUint16(2, true);
  const encoding = CODE_ENCODING[view.getUint8(1) >> 4];
  // The size first (as for a float32 frame before encodings existed): a payload no value count fits is malformed.
  if (encoding !== undefined && encodedElements(encoding, frame.length - PIECE_HEADER_BYTES) < 0) {
    throw new MessageRejectedError(subject, 'malformed', 'piece', `payload of ${frame.length - PIECE_HEADER_BYTES} bytes is not a whole number of ${encoding === 'none' ? 'float32' : encoding} values`);
  }
  if (version !== PROTOCOL_VERSION) {
    throw new MessageRejectedError(subject, 'version', 'piece', `protocol version ${version}, expected ${PROTOCOL_VERSION}`, { peer: `rank ${source}` });
  }
  const family = CODE_FAMILY[view.getUint8(1) & 0x0f];
  if (family === undefined || encoding === undefined) {
    throw new MessageRejectedError(subject, 'malformed', 'piece', `unknown piece family/encoding code ${view.getUint8(1)}`, { peer: `rank ${source}` });
  }
  const header = { family, source, generation: view.getUint32(4, true), step: view.getUint32(8, true), piece: view.getUint32(12, true) };
  return encoding === 'none' ? header : { ...header, encoding };
}

/** Number of values in a frame (its header already validated by `readPieceHeader`), float32 unless `encoding` says otherwise. */
export function pieceElements(frame: Uint8Array, encoding: Compression = 'none'): number {
  return encodedElements(encoding, frame.length - PIECE_HEADER_BYTES);
}

/** Writes `header` into the first PIECE_HEADER_BYTES of `frame` (a frame whose values the caller encodes itself). */
export function writePieceHeader(frame: Uint8Array, header: PieceHeader): void {
  assertLittleEndian();
  writeHeader(frame, header);
}

/**
 * Copies a frame's values into `target[offset … offset + count)` byte for byte. Works for any alignment of
 * `frame` (it copies bytes into the target's underlying buffer, which the Float32Array keeps aligned).
 */
export function copyPieceValues(frame: Uint8Array, target: Float32Array, offset: number, count: number): void {
  assertLittleEndian();
  const bytes = count * 4;
  if (frame.length !== PIECE_HEADER_BYTES + bytes) {
    // Receivers drop frames whose size does not match the layout before copying, so this is a bug.
    throw new InternalError(`piece frame holds ${pieceElements(frame)} values, expected ${count}`);
  }
  if (offset < 0 || offset + count > target.length) throw new InternalError(`piece range [${offset}, ${offset + count}) outside a target of ${target.length}`);
  new Uint8Array(target.buffer, target.byteOffset + offset * 4, bytes).set(frame.subarray(PIECE_HEADER_BYTES));
}

/**
 * Writes `header` into `frame` (a buffer of exactly PIECE_HEADER_BYTES + 4·elements bytes, 4-byte aligned, e.g.
 * one recycled by the sender) and returns a Float32Array viewing its payload, for the caller to fill. The same
 * rule as for `allocatePiece` applies: once published, the frame must not be touched in the same tick.
 */
export function writePieceFrame(frame: Uint8Array, header: PieceHeader, elements: number): Float32Array {
  assertLittleEndian();
  if (frame.length !== PIECE_HEADER_BYTES + elements * 4) throw new InternalError(`a frame of ${frame.length} bytes cannot hold ${elements} values`);
  if (frame.byteOffset % 4 !== 0) throw new InternalError(`frame at byte offset ${frame.byteOffset} is not 4-byte aligned`);
  writeHeader(frame, header);
  return new Float32Array(frame.buffer, frame.byteOffset + PIECE_HEADER_BYTES, elements);
}

/**
 * The values of a received frame (its header already validated) as a Float32Array viewing it in place, when
 * the frame happens to be 4-byte aligned in its buffer; undefined otherwise (then copy with `copyPieceValues`).
 * The view is only valid until the callback that received the frame returns (it aliases the client's buffer).
 */
export function alignedPieceValues(frame: Uint8Array): Float32Array | undefined {
  assertLittleEndian();
  if ((frame.byteOffset + PIECE_HEADER_BYTES) % 4 !== 0) return undefined;
  return new Float32Array(frame.buffer, frame.byteOffset + PIECE_HEADER_BYTES, pieceElements(frame));
}
