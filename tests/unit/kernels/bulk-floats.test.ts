/**
 * The hot-path copy and finiteness check (shared/src/kernels/native/bulk-floats.ts): the native forms give the
 * bytes and answers of TypedArray.set and the x·0 sum, and a wrong kernel is caught by the self-check before use.
 */
import { describe, expect, it } from 'vitest';
import { bulkFloats, bulkSelfCheck, BULK_NATIVE_MIN_ELEMENTS } from '../../../shared/src/kernels/native/bulk-floats.js';
import { allFinite as allFiniteJs } from '../../../shared/src/train/finite.js';
import { nativeUnavailable } from './backends.js';

const unavailable = nativeUnavailable();

describe('bulk floats: the self-check rejects a wrong kernel', () => {
  const good = { copy: (d: Float32Array, s: Float32Array) => d.set(s), allFinite: allFiniteJs };
  it('the JavaScript forms pass it', () => {
    expect(bulkSelfCheck(good)).toBeUndefined();
  });
  it('short buffers (copied by TypedArray.set, native or not) refuse two lengths too instead of filling part of dst', () => {
    expect(() => bulkFloats().copy(new Float32Array(10), new Float32Array(9))).toThrow(/one length/);
  });
  it('a copy that loses the last element fails it', () => {
    expect(bulkSelfCheck({ ...good, copy: (d, s) => d.set(s.subarray(0, s.length - 1)) })).toMatch(/copy differs at element/);
  });
  it('a check that only looks at whole SIMD widths (misses the tail) fails it', () => {
    const vectorOnly = (v: Float32Array) => allFiniteJs(v.subarray(0, v.length - (v.length % 16)));
    expect(bulkSelfCheck({ ...good, allFinite: vectorOnly })).toMatch(/reported finite/);
  });
  it('a check that treats only NaN as bad (Number.isNaN) fails it on ±Infinity', () => {
    const nanOnly = (v: Float32Array) => !v.some((x) => Number.isNaN(x));
    expect(bulkSelfCheck({ ...good, allFinite: nanOnly })).toMatch(/0x7f800000 reported finite|0xff800000 reported finite/);
  });
});

describe.skipIf(unavailable !== undefined)(`bulk floats, native (${unavailable ?? 'addon loaded'})`, () => {
  it('is in use on this machine (the addon loaded and passed its self-check)', () => {
    expect(bulkFloats().native).toBe(true);
  });

  it('copies shared → plain, plain → shared and overlapping ranges byte for byte, as TypedArray.set', () => {
    const { copy } = bulkFloats();
    for (const n of [0, 1, BULK_NATIVE_MIN_ELEMENTS - 1, BULK_NATIVE_MIN_ELEMENTS, 100_003]) {
      const shared = new Float32Array(new SharedArrayBuffer(4 * n));
      const bits = new Uint32Array(shared.buffer);
      for (let i = 0; i < n; i++) bits[i] = Math.imul(i + 1, 2654435761) >>> 0; // NaN payloads and denormals included
      const plain = new Float32Array(n);
      copy(plain, shared);
      expect(Buffer.from(plain.buffer).equals(Buffer.from(shared.buffer))).toBe(true);
      const back = new Float32Array(new SharedArrayBuffer(4 * n));
      copy(back, plain);
      expect(Buffer.from(back.buffer).equals(Buffer.from(shared.buffer))).toBe(true);
    }
    const v = new Float32Array(5000).map((_, i) => i);
    const expected = v.slice();
    expected.set(v.subarray(0, 4000), 1000);
    copy(v.subarray(1000, 5000), v.subarray(0, 4000)); // overlapping: memmove, as set
    expect(v).toEqual(expected);
  });

  it('refuses two lengths instead of copying part of a buffer', () => {
    expect(() => bulkFloats().copy(new Float32Array(2000), new Float32Array(1999))).toThrow(/one length/);
  });

  it('answers as the x·0 sum for NaN or ±Infinity at any position, in buffers of any length', () => {
    const { allFinite } = bulkFloats();
    for (const n of [BULK_NATIVE_MIN_ELEMENTS, 4096, 4097, 70_001]) {
      const v = new Float32Array(new SharedArrayBuffer(4 * n)).map((_, i) => (i % 3) - 1.5);
      expect(allFinite(v)).toBe(true);
      for (const at of [0, 7, n >> 1, n - 1]) {
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          v[at] = bad;
          expect([allFinite(v), allFiniteJs(v)]).toEqual([false, false]);
          v[at] = 3.4e38; // the largest finite float32s stay finite (3.5e38 would round to Infinity)
          expect([allFinite(v), allFiniteJs(v)]).toEqual([true, true]);
        }
      }
    }
  });
});
