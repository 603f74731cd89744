import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { clipByGlobalNorm, clipByValue } from '../../../shared/src/train/clip.js';

const grads = (): Tensor[] => [Tensor.from([2], [3, 0]), Tensor.from([1, 1], [4])];

describe('clipByGlobalNorm', () => {
  it('scales every tensor by maxNorm/norm when the global norm exceeds maxNorm', () => {
    // Global norm √(9 + 16) = 5; maxNorm 1 → factor 0.2.
    const g = grads();
    expect(clipByGlobalNorm(g, 1, referenceKernels)).toEqual({ norm: 5, scaled: true });
    expect(Array.from(g[0]!.data)).toEqual([Math.fround(0.6), 0]);
    expect(Array.from(g[1]!.data)).toEqual([Math.fround(0.8)]);
    const after = Math.hypot(...g.flatMap((t) => Array.from(t.data)));
    expect(after).toBeCloseTo(1, 6);
  });

  it('leaves gradients alone when the norm is within maxNorm (boundary included)', () => {
    const g = grads();
    expect(clipByGlobalNorm(g, 5, referenceKernels)).toEqual({ norm: 5, scaled: false });
    expect(Array.from(g[0]!.data)).toEqual([3, 0]);
    expect(clipByGlobalNorm(g, 100, referenceKernels).scaled).toBe(false);
  });

  it('reports a non-finite norm without touching the gradients', () => {
    const g = [Tensor.from([2], [Infinity, 1])];
    const r = clipByGlobalNorm(g, 1, referenceKernels);
    expect(r).toEqual({ norm: Infinity, scaled: false });
    expect(Array.from(g[0]!.data)).toEqual([Infinity, 1]);
    expect(Number.isNaN(clipByGlobalNorm([Tensor.from([1], [NaN])], 1, referenceKernels).norm)).toBe(true);
  });
});

describe('clipByValue', () => {
  it('clamps to [−c, c] in place and counts the clamped elements', () => {
    const g = [Tensor.from([4], [-3, -0.5, 0.5, 2]), Tensor.from([1], [1])];
    expect(clipByValue(g, 1)).toBe(2);
    expect(Array.from(g[0]!.data)).toEqual([-1, -0.5, 0.5, 1]);
    expect(Array.from(g[1]!.data)).toEqual([1]);
  });

  it('keeps NaN visible', () => {
    const g = [Tensor.from([1], [NaN])];
    clipByValue(g, 1);
    expect(Number.isNaN(g[0]!.data[0])).toBe(true);
  });
});
