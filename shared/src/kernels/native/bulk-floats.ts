import { allFinite as allFiniteJs } from '../../train/finite.js';
import { nativeAddonOrReason } from './addon.js';

/**
 * Whole-buffer copies and finiteness checks for the hot path of a step (a worker's undo copy, its all-gather
 * copies, the NaN/Inf guard): the addon's memmove and exponent test where it loads (Note [shared memory copies],
 * Note [finite by exponent] in shared/native/bulk_floats.c), else TypedArray.set and the x·0 sum. Both give the
 * same bytes and the same answers; the native forms are 2.3× (copy to or from shared memory) and ≈ 4× (check)
 * faster on buffers of the CNN example's size, and a call costs ≈ 0.3 µs, so short buffers stay in JavaScript.
 */
export interface BulkFloats {
  /** dst.set(src) for two arrays of one length. */
  copy(dst: Float32Array, src: Float32Array): void;
  /** Whether no element is NaN or ±Infinity. */
  allFinite(values: Float32Array): boolean;
  /** Whether the native forms are in use, or why not. */
  readonly native: true | string;
}

/** Below this many elements the JavaScript forms are used (a native call's fixed cost, Note [native sum crossover]). */
export const BULK_NATIVE_MIN_ELEMENTS = 1024;

/** Both paths refuse two lengths alike (TypedArray.set would copy a shorter source into part of dst). */
function sameLength(dst: Float32Array, src: Float32Array): void {
  if (dst.length !== src.length) throw new RangeError(`copyFloats: dst and src must have one length (${dst.length} and ${src.length})`);
}

const JS_BULK = (reason: string): BulkFloats => ({
  copy: (dst, src) => {
    sameLength(dst, src);
    dst.set(src);
  },
  allFinite: allFiniteJs,
  native: reason,
});

let decided: BulkFloats | undefined;

/** The forms this thread uses, decided once: the addon loads and passes its self-check, or JavaScript. */
export function bulkFloats(): BulkFloats {
  decided ??= decide();
  return decided;
}

function decide(): BulkFloats {
  if (process.env['GRADMESH_NATIVE_BULK'] === 'off') return JS_BULK('turned off by GRADMESH_NATIVE_BULK=off');
  const addon = nativeAddonOrReason();
  if ('reason' in addon) return JS_BULK(addon.reason);
  const { copyFloats, allFinite } = addon;
  if (typeof copyFloats !== 'function' || typeof allFinite !== 'function') return JS_BULK('the native addon predates copyFloats/allFinite; rebuild it with `npm run build`');
  const bulk: BulkFloats = {
    copy: (dst, src) => {
      sameLength(dst, src);
      if (dst.length < BULK_NATIVE_MIN_ELEMENTS) dst.set(src);
      else copyFloats.call(addon, dst, src);
    },
    allFinite: (values) => (values.length < BULK_NATIVE_MIN_ELEMENTS ? allFiniteJs(values) : allFinite.call(addon, values)),
    native: true,
  };
  const mismatch = bulkSelfCheck(bulk);
  return mismatch === undefined ? bulk : JS_BULK(`the native copy/finite check failed its self-check (${mismatch})`);
}

/**
 * Before first use: a copy out of shared memory keeps every bit (NaN payloads, denormals, ±0, both signs), and the
 * check finds NaNs (quiet, signalling, with payloads) and ±Infinity at block edges, SIMD-width edges and the last
 * element of a buffer longer than three blocks, and no false alarm on finite values. Returns what differed, or
 * undefined.
 */
export function bulkSelfCheck(bulk: Pick<BulkFloats, 'copy' | 'allFinite'>): string | undefined {
  const n = 3 * 4096 + 37;
  const src = new Float32Array(new SharedArrayBuffer(4 * n));
  const bits = new Uint32Array(src.buffer);
  for (let i = 0; i < n; i++) bits[i] = (Math.imul(i, 2654435761) >>> 0) & 0x7f7fffff; // finite patterns, both signs below
  for (let i = 0; i < n; i += 7) bits[i] = (bits[i]! | 0x80000000) >>> 0;
  bits[5] = 0x00000001; // a denormal
  bits[6] = 0x80000000; // −0
  const dst = new Float32Array(n);
  bulk.copy(dst, src);
  const out = new Uint32Array(dst.buffer);
  for (let i = 0; i < n; i++) if (out[i] !== bits[i]) return `copy differs at element ${i}`;
  if (!bulk.allFinite(src)) return 'finite values reported as not finite';
  const specials = [0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffffffff, 0x7fa00000];
  for (const at of [0, 15, 16, 4095, 4096, n - 1]) {
    for (const special of specials) {
      const saved = bits[at]!;
      bits[at] = special;
      const native = bulk.allFinite(src);
      bits[at] = saved;
      if (native) return `element ${at} = 0x${special.toString(16)} reported finite`;
    }
  }
  return undefined;
}
