import { InternalError } from '@gradmesh/shared/internal';
import { describe, expect, it } from 'vitest';
import { sumInRankOrder } from '../../../worker/src/allreduce/rank-order-sum.js';

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('sumInRankOrder', () => {
  // 1 + 2^-24 + 2^-24: left to right each tiny term is lost to rounding; tiny terms first, they survive.
  const big = new Float32Array([1, 3]);
  const tiny = new Float32Array([2 ** -24, 2 ** -23]);

  it('adds left to right with every partial sum rounded to float32', () => {
    const out = new Float32Array(2);
    sumInRankOrder(out, [big, tiny, tiny]);
    expect(Array.from(out)).toEqual([Math.fround(Math.fround(1 + 2 ** -24) + 2 ** -24), Math.fround(Math.fround(3 + 2 ** -23) + 2 ** -23)]);
    expect(out[0]).toBe(1);
  });

  it('negative control: another order gives other bits for the same terms', () => {
    const a = new Float32Array(2);
    const b = new Float32Array(2);
    sumInRankOrder(a, [big, tiny, tiny]);
    sumInRankOrder(b, [tiny, tiny, big]);
    expect(bits(a)).not.toEqual(bits(b));
  });

  it('accepts out === sources[0] and rejects sources of another length', () => {
    const acc = new Float32Array([1, 2]);
    sumInRankOrder(acc, [acc, new Float32Array([10, 20])]);
    expect(Array.from(acc)).toEqual([11, 22]);
    expect(() => sumInRankOrder(new Float32Array(2), [new Float32Array(3)])).toThrow(InternalError);
    expect(() => sumInRankOrder(new Float32Array(2), [])).toThrow(InternalError);
  });
});

describe('sumInRankOrder fused paths', () => {
  it('gives the same bits as sequential float32 additions for 1 to 6 sources (fused 2/3/4-source loops and the general loop)', () => {
    const n = 257;
    for (let count = 1; count <= 6; count++) {
      const sources = Array.from({ length: count }, (_, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 7 + k * 13) * 2 ** ((i * (k + 3)) % 40 - 20)));
      const out = new Float32Array(n);
      sumInRankOrder(out, sources);
      const expected = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let acc = sources[0]![i]!;
        for (let k = 1; k < count; k++) acc = Math.fround(acc + sources[k]![i]!);
        expected[i] = acc;
      }
      expect(bits(out), `${count} sources`).toEqual(bits(expected));
    }
  });
});
