/**
 * out[i] = (…((v0[i] + v1[i]) + v2[i]) + …) + v(N−1)[i], every partial sum rounded to float32.
 *
 * Float addition is not associative, so the ORDER of the terms decides the bits of the result. Summing in rank
 * order (never in the order the pieces happened to arrive) makes the reduced gradient a pure function of the
 * ranks' inputs: every replica, every run, the same bits. Storing each partial sum into a Float32Array rounds
 * it exactly as a float32 addition would (double rounding is harmless for a sum of two floats).
 * `out` may be `sources[0]` itself; it must not alias any later source.
 */
export function sumInRankOrder(out: Float32Array, sources: readonly Float32Array[]): void {
  const first = sources[0];
  if (first === undefined) throw new RangeError('sumInRankOrder needs at least one source');
  const n = out.length;
  for (const s of sources) if (s.length !== n) throw new RangeError(`sumInRankOrder: source of ${s.length} values, expected ${n}`);
  if (first !== out) out.set(first);
  for (let k = 1; k < sources.length; k++) {
    const s = sources[k] as Float32Array;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + (s[i] as number);
  }
}
