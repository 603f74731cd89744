import { describe, expect, it } from 'vitest';
import { decodeValues, encodedBytes, encodedElements, encodeValues, fp16Scale, fromBf16, fromFp16, roundTrip, toBf16, toFp16 } from '../../../shared/src/protocol/compression.js';
import { Random } from '../../../shared/src/random.js';

/** Nearest-even check: `half` decodes closest to `v` of its neighbours, and wins a tie only with an even code. */
function isNearestEven(v: number, half: number, decode: (h: number) => number): boolean {
  const d = Math.abs(v - decode(half));
  for (const n of [half - 1, half + 1]) {
    if ((n & 0x7fff) > 0x7c00 && decode === fromFp16) continue;
    const dn = Math.abs(v - decode(n & 0xffff));
    if (dn < d) return false;
    if (dn === d && (half & 1) === 1) return false;
  }
  return true;
}

describe('16-bit encodings of gradient values', () => {
  it('fp16: every finite and infinite half decodes and re-encodes to itself (all 63 490 non-NaN codes)', () => {
    let checked = 0;
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      expect(toFp16(fromFp16(h))).toBe(h);
      checked++;
    }
    expect(checked).toBe(63_490);
    expect(Number.isNaN(fromFp16(toFp16(NaN)))).toBe(true);
  });

  it('fp16 and bf16 round to nearest, ties to even (10 000 random floats each, across the ranges)', () => {
    const rng = new Random(7);
    const f = new Float32Array(1);
    for (let i = 0; i < 10_000; i++) {
      f[0] = (rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 40 - 28);
      const v = f[0];
      const h = toFp16(v);
      if (Math.abs(v) < 65504) expect(isNearestEven(v, h, fromFp16), `fp16 of ${v}`).toBe(true);
      expect(isNearestEven(v, toBf16(v), fromBf16), `bf16 of ${v}`).toBe(true);
    }
    // Hand cases: 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to the even code (1).
    expect(fromFp16(toFp16(1 + 2 ** -11))).toBe(1);
    expect(fromFp16(toFp16(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(toFp16(65520)).toBe(0x7c00); // rounds up past 65504: Infinity
    expect(fromBf16(toBf16(1 + 2 ** -8))).toBe(1);
    expect(fromBf16(toBf16(-Infinity))).toBe(-Infinity);
  });

  it('the fp16 scale maps the largest finite magnitude into [2^14, 2^15]: no overflow, little underflow', () => {
    for (const max of [1e-30, 3e-5, 0.7, 1, 1234.5, 1e9, 3e38]) {
      const v = new Float32Array([max / 3, -max, Infinity, NaN]);
      const s = fp16Scale(v);
      expect(Number.isInteger(Math.log2(s))).toBe(true);
      const scaled = Math.fround(max) * s;
      expect(scaled).toBeLessThanOrEqual(2 ** 15);
      expect(scaled).toBeGreaterThan(2 ** 14 - 1e-9);
    }
    expect(fp16Scale(new Float32Array([0, -0, NaN]))).toBe(1);
  });

  it('encode then decode equals roundTrip, at half the bytes (fp16: + its 4-byte scale); NaN and Infinity survive', () => {
    const rng = new Random(3);
    const values = Float32Array.from({ length: 1001 }, () => (rng.next() - 0.5) * 5000);
    values[7] = NaN;
    values[8] = -Infinity;
    for (const c of ['bf16', 'fp16'] as const) {
      const wire = new Uint8Array(encodedBytes(c, values.length));
      expect(wire.length).toBe(c === 'bf16' ? 2002 : 2006);
      expect(encodedElements(c, wire.length)).toBe(1001);
      encodeValues(c, values, wire);
      const decoded = new Float32Array(1003);
      decodeValues(c, wire, decoded, 2, 1001);
      const rounded = values.slice();
      roundTrip(c, rounded);
      expect(Array.from(decoded.subarray(2))).toEqual(Array.from(rounded));
      expect(Number.isNaN(rounded[7])).toBe(true);
      expect(rounded[8]).toBe(-Infinity);
      // The rounding error is what the format promises (relative 2^-9 for bf16, 2^-12 for fp16, near the top of the range).
      const rel = c === 'bf16' ? 2 ** -8 : 2 ** -11;
      for (let i = 0; i < values.length; i++) if (i !== 7 && i !== 8 && Math.abs(values[i]!) > 100) expect(Math.abs(rounded[i]! - values[i]!) / Math.abs(values[i]!)).toBeLessThanOrEqual(rel);
    }
    expect(encodedElements('fp16', 3)).toBe(-1);
    expect(encodedElements('bf16', 3)).toBe(-1);
  });
});
