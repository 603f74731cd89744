/**
 * Half-width encodings of gradient pieces: the communication hook behind `training.allreduce.compression`
 * (PyTorch DDP's bf16/fp16 compress hooks). Pure functions over typed arrays, no allocation per call.
 *
 * Note [compressed all-reduce stays bitwise identical across replicas]
 * Only the wire is 16-bit: each rank's contribution to a piece is rounded to 16 bits (the owner rounds its own
 * contribution the same way, as if it had sent it to itself), the owner sums the decoded float32 values in rank
 * order, rounds the sum to 16 bits for the all-gather and keeps exactly the decoded rounded sum itself. Every
 * replica therefore holds the same bits; only the result differs from the float32 all-reduce, by the rounding.
 *
 * bf16 keeps float32's 8-bit exponent (no overflow, no scaling) and 8 bits of mantissa; rounding is to
 * nearest, ties to even, and NaN stays NaN. fp16 has 11 bits of mantissa but a range of ±65504, which gradient
 * SUMS (gradmesh sends sums over the local batch) exceed easily; so every fp16 piece carries a power-of-two
 * scale chosen from its largest finite magnitude m: scale = 2^(15 − ⌈log2 m⌉), so the scaled values stay within
 * ±2^15 < 65504 (no overflow) and the largest uses the top of the range (the least underflow). A power of two
 * scales exactly in float32 both ways. Values below m·2^−25 underflow to zero, as in any fp16 scheme; NaN and
 * ±Infinity pass through (the NaN/Inf guard still sees a poisoned gradient).
 */
export type Compression = 'none' | 'bf16' | 'fp16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bf16 bits, round to nearest even. */
export function toBf16(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) & 0x8000) | 0x7fc0; // NaN (quiet)
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits → float32 value (exact). */
export function fromBf16(half: number): number {
  u32[0] = (half & 0xffff) << 16;
  return f32[0]!;
}

/** float32 → IEEE half bits, round to nearest even; overflow → ±Infinity, underflow → ±0 or a subnormal. */
export function toFp16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is right (may reach Infinity)
  return sign | half;
}

/** IEEE half bits → float32 value (exact). */
export function fromFp16(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const e = (half >>> 10) & 0x1f;
  const m = half & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** fp16 bits → float32, all 65 536 of them (256 KiB, built on first use): decoding is a table lookup. */
let fp16Table: Float32Array | undefined;
function fp16Values(): Float32Array {
  if (fp16Table === undefined) {
    fp16Table = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) fp16Table[h] = fromFp16(h);
  }
  return fp16Table;
}

/** The power-of-two fp16 scale of a piece from its largest finite magnitude (1 when it has none). */
export function fp16Scale(values: Float32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > max && a !== Infinity) max = a;
  }
  if (max === 0) return 1;
  const k = 15 - Math.ceil(Math.log2(max));
  return 2 ** Math.max(-126, Math.min(127, k));
}

/** Bytes a piece of `elements` values takes on the wire after the header: fp16 also carries its float32 scale. */
export function encodedBytes(compression: Compression, elements: number): number {
  return compression === 'none' ? 4 * elements : compression === 'bf16' ? 2 * elements : 4 + 2 * elements;
}

/** Values in an encoded payload of `bytes` bytes, or −1 when no whole number fits. */
export function encodedElements(compression: Compression, bytes: number): number {
  if (compression === 'none') return bytes % 4 === 0 ? bytes / 4 : -1;
  if (compression === 'bf16') return bytes % 2 === 0 ? bytes / 2 : -1;
  return bytes >= 4 && (bytes - 4) % 2 === 0 ? (bytes - 4) / 2 : -1;
}

/** Encodes `values` into `out` (exactly encodedBytes(compression, values.length) bytes; compression ≠ 'none'). */
export function encodeValues(compression: Exclude<Compression, 'none'>, values: Float32Array, out: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const start = compression === 'bf16' ? 0 : 4;
  const codes = (out.byteOffset + start) % 2 === 0 ? new Uint16Array(out.buffer, out.byteOffset + start, values.length) : undefined;
  if (compression === 'bf16') {
    if (codes !== undefined) for (let i = 0; i < values.length; i++) codes[i] = toBf16(values[i]!);
    else for (let i = 0; i < values.length; i++) view.setUint16(2 * i, toBf16(values[i]!), true);
    return;
  }
  const scale = fp16Scale(values);
  view.setFloat32(0, scale, true);
  if (codes !== undefined) for (let i = 0; i < values.length; i++) codes[i] = toFp16(values[i]! * scale);
  else for (let i = 0; i < values.length; i++) view.setUint16(4 + 2 * i, toFp16(values[i]! * scale), true);
}

/** Decodes an encoded payload into `target[offset … offset + count)`. */
export function decodeValues(compression: Exclude<Compression, 'none'>, payload: Uint8Array, target: Float32Array, offset: number, count: number): void {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const start = compression === 'bf16' ? 0 : 4;
  // A 2-byte aligned payload (recycled receive buffers, frames built here) is read through a Uint16Array view.
  const codes = (payload.byteOffset + start) % 2 === 0 ? new Uint16Array(payload.buffer, payload.byteOffset + start, count) : undefined;
  if (compression === 'bf16') {
    const bits = new Uint32Array(target.buffer, target.byteOffset + offset * 4, count);
    if (codes !== undefined) for (let i = 0; i < count; i++) bits[i] = codes[i]! << 16;
    else for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
    return;
  }
  const table = fp16Values();
  const inverse = 1 / view.getFloat32(0, true); // a power of two: multiplying by its inverse is exact
  if (codes !== undefined) for (let i = 0; i < count; i++) target[offset + i] = table[codes[i]!]! * inverse;
  else for (let i = 0; i < count; i++) target[offset + i] = table[view.getUint16(4 + 2 * i, true)]! * inverse;
}

/** Rounds `values` in place to what a receiver decodes from their encoding (the owner's own contribution and its sum). */
export function roundTrip(compression: Exclude<Compression, 'none'>, values: Float32Array): void {
  if (compression === 'bf16') {
    for (let i = 0; i < values.length; i++) values[i] = fromBf16(toBf16(values[i]!));
    return;
  }
  const table = fp16Values();
  const scale = fp16Scale(values);
  const inverse = 1 / scale;
  for (let i = 0; i < values.length; i++) values[i] = table[toFp16(values[i]! * scale)]! * inverse;
}
