import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NATIVE_ADDON_URL } from '../../../shared/src/kernels/native/addon.js';
import { NATIVE_SUM_MIN_ELEMENTS, rankOrderSumKernels, rankOrderSumStatus, selfCheck, type RankOrderSum } from '../../../worker/src/allreduce/native-rank-order-sum.js';
import { sumInRankOrder } from '../../../worker/src/allreduce/rank-order-sum.js';
import { sumInRankOrderJs } from '../../../worker/src/allreduce/rank-order-sum-js.js';

// The addon is built by `npm run build` wherever a compiler and OpenBLAS exist (here and in CI); where it is,
// the worker must use it, so these tests fail rather than skip when it was built but not chosen.
const addonBuilt = existsSync(fileURLToPath(NATIVE_ADDON_URL));

/** Deterministic float32 bit patterns: a quarter arbitrary bits (NaN payloads, denormals, huge, tiny), a quarter
 *  IEEE specials, the rest ordinary values of mixed magnitude and sign (cancellation, rounding). */
function sourceVectors(count: number, n: number, seed: number): Float32Array[] {
  const specials = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00001, 0xffbfffff, 0x7fc12345, 1, 0x80000001,
    0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x33800000, 0x3f800000, 0x4b800000];
  return Array.from({ length: count }, (_, k) => {
    const v = new Float32Array(n);
    const bits = new Uint32Array(v.buffer);
    let x = (seed * 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b);
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
      const kind = (x >>> 28) & 3;
      if (kind === 0) bits[i] = x >>> 0;
      else if (kind === 1) bits[i] = specials[((x >>> 4) & 0xffff) % specials.length] as number;
      else v[i] = (((x >> 4) & 0xfffff) - 0x80000) * 2 ** (((x >>> 24) & 15) - 30);
    }
    return v;
  });
}

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

function firstDifference(a: Float32Array, b: Float32Array): number {
  const ua = bitsOf(a);
  const ub = bitsOf(b);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/** The rank-order sum written out plainly, one element at a time: the oracle for both implementations. */
function oracle(sources: readonly Float32Array[]): Float32Array {
  // One term is its own sum, bits and all (a signalling NaN passed through a JavaScript number would be quieted).
  if (sources.length === 1) return (sources[0] as Float32Array).slice();
  const n = (sources[0] as Float32Array).length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = (sources[0] as Float32Array)[i] as number;
    for (let k = 1; k < sources.length; k++) acc = Math.fround(acc + ((sources[k] as Float32Array)[i] as number));
    out[i] = acc;
  }
  return out;
}

const LENGTHS = [1, 7, 255, 256, 257, 4095, 4097, 12_289, 65_537];

describe('native rank-order sum', () => {
  const { native } = rankOrderSumKernels();

  it('is chosen wherever the addon is built (else the status says why not)', () => {
    const status = rankOrderSumStatus();
    if (addonBuilt) expect(status).toEqual({ native: true });
    else expect(status.native).toBe(false);
    expect(native !== undefined).toBe(status.native);
  });

  it.runIf(addonBuilt)('gives the JavaScript sum bit for bit (NaN payloads, ±Inf, denormals, −0) for N = 1..6 and odd lengths, into a fresh out and in place', () => {
    const sum = native as RankOrderSum;
    for (let count = 1; count <= 6; count++) {
      for (const n of LENGTHS) {
        const sources = sourceVectors(count, n, count * 1000 + n);
        const expected = new Float32Array(n);
        sumInRankOrderJs(expected, sources);
        expect(firstDifference(expected, oracle(sources)), `JavaScript vs oracle, N = ${count}, ${n} elements`).toBe(-1);
        const out = new Float32Array(n);
        sum(out, sources);
        expect(firstDifference(out, expected), `native, N = ${count}, ${n} elements`).toBe(-1);
        const acc = (sources[0] as Float32Array).slice();
        sum(acc, [acc, ...sources.slice(1)]);
        expect(firstDifference(acc, expected), `native in place, N = ${count}, ${n} elements`).toBe(-1);
      }
    }
  });

  it('in place of ANY source (the all-reduce sums its own chunk into its vector, its own rank\'s term): native and JavaScript give the rank-order sum for N = 2..6, every position', () => {
    for (let count = 2; count <= 6; count++) {
      for (const n of [7, 4099, 9000]) {
        const sources = sourceVectors(count, n, count * 77 + n);
        const expected = oracle(sources);
        for (let k = 0; k < count; k++) {
          for (const [name, sum] of [['JavaScript', sumInRankOrderJs], ...(native === undefined ? [] : [['native', native]])] as [string, RankOrderSum][]) {
            const own = (sources[k] as Float32Array).slice();
            const terms = sources.map((s, j) => (j === k ? own : s));
            sum(own, terms);
            expect(firstDifference(own, expected), `${name}, N = ${count}, out = source ${k}, ${n} elements`).toBe(-1);
          }
        }
      }
    }
  });

  it.runIf(addonBuilt)('reads views at an offset into a larger buffer (a piece inside a received frame) and leaves the rest alone', () => {
    const sum = native as RankOrderSum;
    const n = 5003;
    const [a, b, c] = sourceVectors(3, n, 7) as [Float32Array, Float32Array, Float32Array];
    const frame = new Float32Array(n + 9).fill(-7);
    const view = frame.subarray(3, 3 + n);
    view.set(a);
    const out = new Float32Array(n + 4).fill(5);
    sum(out.subarray(1, 1 + n), [view, b, c]);
    expect(firstDifference(out.subarray(1, 1 + n), oracle([a, b, c]))).toBe(-1);
    expect([out[0], out[n + 1], out[n + 3]]).toEqual([5, 5, 5]);
    expect(Array.from(frame.subarray(0, 3))).toEqual([-7, -7, -7]);
  });

  it.runIf(addonBuilt)('rejects an out that partly overlaps a source, or sources of another length or type, before writing anything', () => {
    const sum = native as RankOrderSum;
    const buffer = new Float32Array(2000).fill(1);
    expect(() => sum(buffer.subarray(0, 1000), [new Float32Array(1000), buffer.subarray(500, 1500)])).toThrow(RangeError);
    expect(() => sum(buffer.subarray(0, 1000), [buffer.subarray(1, 1001), new Float32Array(1000)])).toThrow(RangeError);
    expect(() => sum(new Float32Array(4), [new Float32Array(4), new Float32Array(5)])).toThrow(RangeError);
    expect(() => sum(new Float32Array(4), [new Float32Array(4), new Float64Array(4) as unknown as Float32Array])).toThrow(TypeError);
    expect(Array.from(new Set(buffer))).toEqual([1]);
  });

  it.runIf(addonBuilt)('sumInRankOrder gives the same bits on either side of the crossover (native above, JavaScript below)', () => {
    for (const n of [NATIVE_SUM_MIN_ELEMENTS - 1, NATIVE_SUM_MIN_ELEMENTS, 262_144]) {
      const sources = sourceVectors(4, n, n);
      const out = new Float32Array(n);
      sumInRankOrder(out, sources);
      expect(firstDifference(out, oracle(sources)), `${n} elements`).toBe(-1);
    }
  });

  it('self-check: passes the JavaScript sum, and catches a sum in another order (negative control)', () => {
    expect(selfCheck(sumInRankOrderJs)).toBeUndefined();
    // ((s0 + s1) + s2) regrouped as (s0 + (s1 + s2)): the reassociation a fast-math build would be free to do.
    const regrouped: RankOrderSum = (out, sources) => {
      if (sources.length < 3) return sumInRankOrderJs(out, sources);
      const tail = new Float32Array(out.length);
      sumInRankOrderJs(tail, sources.slice(1));
      sumInRankOrderJs(out, [sources[0] as Float32Array, tail]);
    };
    expect(selfCheck(regrouped)).toMatch(/^3 sources, out, element \d+: 0x[0-9a-f]+ instead of 0x[0-9a-f]+$/);
    // Operands swapped: the same sums, but the other NaN when both terms are NaNs.
    const swapped: RankOrderSum = (out, sources) => sumInRankOrderJs(out, [...sources].reverse());
    expect(selfCheck(swapped)).toMatch(/^2 sources, out, element/);
    // Denormals flushed to zero, as a build with -ffast-math on x86 would.
    const flushing: RankOrderSum = (out, sources) => {
      sumInRankOrderJs(out, sources);
      for (let i = 0; i < out.length; i++) if (Math.abs(out[i] as number) < 2 ** -126) out[i] = 0;
    };
    expect(selfCheck(flushing)).toMatch(/^2 sources, out, element/);
  });

  it('negative control: the bitwise comparison used above does see a reordered sum', () => {
    const sources = sourceVectors(3, 4097, 11);
    const inOrder = oracle(sources);
    const reordered = oracle([sources[2] as Float32Array, sources[0] as Float32Array, sources[1] as Float32Array]);
    expect(firstDifference(inOrder, reordered)).toBeGreaterThanOrEqual(0);
  });
});
