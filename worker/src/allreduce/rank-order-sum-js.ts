/**
 * The rank-order sum in JavaScript: the reference the native kernel (shared/native/rank_order_sum.c) is checked
 * against, and the sum for vectors too short to amortise a native call or where the addon is absent (the
 * container image). rank-order-sum.ts chooses between them; callers use sumInRankOrder from there.
 *
 * Float addition is not associative, so the ORDER of the terms decides the bits of the result. Summing in rank
 * order (never in the order the pieces happened to arrive) makes the reduced gradient a pure function of the
 * ranks' inputs: every replica, every run, the same bits. Storing each partial sum into a Float32Array rounds
 * it exactly as a float32 addition would (double rounding is harmless for a sum of two floats).
 * `out` may be one of the sources itself (every element's terms are read before it is written; Note [out may be
 * any source] in shared/native/rank_order_sum.c); it must not partly overlap one.
 * The caller has checked that there is at least one source and that every source has out's length.
 */
export function sumInRankOrderJs(out: Float32Array, sources: readonly Float32Array[]): void {
  const n = out.length;
  // Up to 4 ranks (the common case on one machine) in one fused pass: each element is read once and written
  // once, with Math.fround rounding every partial sum exactly as the k-pass form would.
  const [a, b, c, d] = sources as [Float32Array, Float32Array?, Float32Array?, Float32Array?];
  if (sources.length === 2 && b !== undefined) {
    for (let i = 0; i < n; i++) out[i] = (a[i] as number) + (b[i] as number);
    return;
  }
  if (sources.length === 3 && b !== undefined && c !== undefined) {
    for (let i = 0; i < n; i++) out[i] = Math.fround((a[i] as number) + (b[i] as number)) + (c[i] as number);
    return;
  }
  if (sources.length === 4 && b !== undefined && c !== undefined && d !== undefined) {
    for (let i = 0; i < n; i++) out[i] = Math.fround(Math.fround((a[i] as number) + (b[i] as number)) + (c[i] as number)) + (d[i] as number);
    return;
  }
  if (sources.indexOf(out, 1) > 0) {
    // out is a later source: each element's partial sums in a local, written once all its terms are read.
    for (let i = 0; i < n; i++) {
      let acc = a[i] as number;
      for (let k = 1; k < sources.length; k++) acc = Math.fround(acc + ((sources[k] as Float32Array)[i] as number));
      out[i] = acc;
    }
    return;
  }
  if (a !== out) out.set(a);
  for (let k = 1; k < sources.length; k++) {
    const s = sources[k] as Float32Array;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + (s[i] as number);
  }
}
