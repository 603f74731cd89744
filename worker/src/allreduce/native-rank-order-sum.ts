import { nativeAddonOrReason } from '@gradmesh/shared/internal';
import { sumInRankOrderJs } from './rank-order-sum-js.js';

/** A rank-order sum over validated arguments (at least one source, all of out's length). */
export type RankOrderSum = (out: Float32Array, sources: readonly Float32Array[]) => void;

/** Which sum this process uses for long vectors, and why (printed by `gradmesh bench allreduce`). */
export type RankOrderSumStatus = { readonly native: true } | { readonly native: false; readonly reason: string };

/**
 * Note [native sum crossover]: a native call costs ≈ 0.2–0.4 µs whatever its length (reading the source array
 * and each view), the JavaScript loops 1.2 / 1.6 / 2.1 ns per element at N = 2 / 3 / 4 sources, the native
 * kernel 0.07–0.2. Measured 2026-11-30 (`node bench/dist/allreduce/rank-order-sum-bench.js`, quiet machine):
 * JavaScript wins at 128 elements (0.16–0.26 µs against 0.24–0.36), native at 256 at every N (0.69–0.74 × the
 * JavaScript time) and by 10 × on a 1 MiB piece (30 against 314 µs at N = 2).
 */
export const NATIVE_SUM_MIN_ELEMENTS = 256;

let decided: { readonly sum: RankOrderSum | undefined; readonly status: RankOrderSumStatus } | undefined;

/** The native sum if this thread can use it, decided once (loading the addon, then the self-check). */
export function nativeRankOrderSum(): RankOrderSum | undefined {
  decided ??= decide();
  return decided.sum;
}

export function rankOrderSumStatus(): RankOrderSumStatus {
  decided ??= decide();
  return decided.status;
}

/** Both sums and the size at which sumInRankOrder switches, for the benchmark that measures the crossover. */
export function rankOrderSumKernels(): { readonly js: RankOrderSum; readonly native: RankOrderSum | undefined; readonly minNativeElements: number } {
  return { js: sumInRankOrderJs, native: nativeRankOrderSum(), minNativeElements: NATIVE_SUM_MIN_ELEMENTS };
}

function decide(): { readonly sum: RankOrderSum | undefined; readonly status: RankOrderSumStatus } {
  const off = (reason: string) => ({ sum: undefined, status: { native: false, reason } as const });
  if (process.env['GRADMESH_NATIVE_SUM'] === 'off') return off('turned off by GRADMESH_NATIVE_SUM=off');
  const addon = nativeAddonOrReason();
  if ('reason' in addon) return off(addon.reason);
  const kernel = addon.sumInRankOrder;
  if (typeof kernel !== 'function') return off('the native addon predates sumInRankOrder; rebuild it with `npm run build`');
  const sum: RankOrderSum = (out, sources) => kernel.call(addon, out, sources);
  const mismatch = selfCheck(sum);
  if (mismatch !== undefined) return off(`the native sum failed its self-check (${mismatch})`);
  return { sum, status: { native: true } };
}

/**
 * Note [self-check before use]: the kernel's bits rest on how it was compiled and on the machine (Note [same bits
 * as the JavaScript sum], Note [which NaN] in shared/native/rank_order_sum.c); a build with other flags
 * (fast-math, flush-to-zero) or a CPU that picks NaN payloads otherwise would still "work" and silently make a
 * run's bits depend on whether the addon was there. So before first use it must reproduce the JavaScript sum bit
 * for bit on values that expose reassociation, contraction, flushing and NaN choice (denormals, ±0, ±Inf,
 * NaN payloads, signalling NaNs, arbitrary bit patterns, cancellation) for 2 to 5 sources, in place (of the first
 * or the last source) and not, on
 * a length that is no multiple of any SIMD width. Returns what differed, or undefined.
 */
export function selfCheck(sum: RankOrderSum): string | undefined {
  const n = 4099;
  const special = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x33800000, 1, 0x80000001, 0x00800000, 0x007fffff, 0x7f7fffff, 0xff7fffff,
    0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00001, 0xff812345, 0x7fc54321, 0x4b800000];
  for (let count = 2; count <= 5; count++) {
    const sources = Array.from({ length: count }, (_, k) => {
      const s = new Float32Array(n);
      const bits = new Uint32Array(s.buffer);
      let x = 0x9e3779b9 ^ Math.imul(k + 1, 0x85ebca6b);
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
        const kind = (i + k) % 5;
        if (kind === 0) bits[i] = special[(x >>> 0) % special.length] as number;
        else if (kind === 1) bits[i] = x >>> 0;
        else s[i] = ((x >> 8) / 2 ** 23) * 2 ** ((x & 63) - 40);
      }
      return s;
    });
    const expected = new Float32Array(n);
    sumInRankOrderJs(expected, sources);
    const actual = new Float32Array(n);
    sum(actual, sources);
    const inPlace = Float32Array.from(sources[0] as Float32Array);
    sum(inPlace, [inPlace, ...sources.slice(1)]);
    // In place as the last source (Note [out may be any source] in shared/native/rank_order_sum.c).
    const inLast = Float32Array.from(sources[count - 1] as Float32Array);
    sum(inLast, [...sources.slice(0, -1), inLast]);
    const want = new Uint32Array(expected.buffer);
    for (const [what, got] of [['out', new Uint32Array(actual.buffer)], ['in place', new Uint32Array(inPlace.buffer)], ['in place of the last source', new Uint32Array(inLast.buffer)]] as const) {
      for (let i = 0; i < n; i++) {
        if (got[i] !== want[i]) return `${count} sources, ${what}, element ${i}: 0x${(got[i] as number).toString(16)} instead of 0x${(want[i] as number).toString(16)}`;
      }
    }
  }
  return undefined;
}
