import { describe, expect, it } from 'vitest';
import { referenceKernels as k } from '../../../shared/src/kernels/reference/index.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

const t = (shape: number[], v: number[]): Tensor => Tensor.from(shape, v);
const values = (x: Tensor): number[] => Array.from(x.data);

describe('reference matMul', () => {
  // a = [[1, 2, 3], [4, 5, 6]] (2×3), b = [[7, 8], [9, 10], [11, 12]] (3×2): a·b = [[58, 64], [139, 154]]
  const a = t([2, 3], [1, 2, 3, 4, 5, 6]);
  const b = t([3, 2], [7, 8, 9, 10, 11, 12]);
  const aT = t([3, 2], [1, 4, 2, 5, 3, 6]);
  const bT = t([2, 3], [7, 9, 11, 8, 10, 12]);

  it('computes a·b, aᵀ·b, a·bᵀ and aᵀ·bᵀ equal to the hand-computed product', () => {
    for (const [x, y, options] of [[a, b, {}], [aT, b, { transposeA: true }], [a, bT, { transposeB: true }], [aT, bT, { transposeA: true, transposeB: true }]] as const) {
      const out = Tensor.from([2, 2], [99, 99, 99, 99]);
      k.matMul(x, y, out, options);
      expect(values(out)).toEqual([58, 64, 139, 154]);
    }
  });

  it('accumulate adds the product to out instead of overwriting it', () => {
    const out = t([2, 2], [1, 2, 3, 4]);
    k.matMul(a, b, out, { accumulate: true });
    expect(values(out)).toEqual([59, 66, 142, 158]);
  });

  it('rejects mismatched inner dimensions with a ShapeError', () => {
    expect(() => k.matMul(a, a, Tensor.zeros([2, 3]))).toThrow(/inner/);
  });

  it('biasAdd adds per last-axis channel and biasGrad sums over all leading dimensions (and accumulates)', () => {
    const out = Tensor.zeros([2, 2, 2]);
    k.biasAdd(t([2, 2, 2], [0, 0, 1, 1, 2, 2, 3, 3]), t([2], [10, 20]), out);
    expect(values(out)).toEqual([10, 20, 11, 21, 12, 22, 13, 23]);
    const g = t([2], [1, 1]);
    k.biasGrad(t([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), g);
    expect(values(g)).toEqual([16, 20]);
    k.biasGrad(t([1, 2], [1, 2]), g, true);
    expect(values(g)).toEqual([17, 22]);
  });
});

describe('reference elementwise and reductions', () => {
  it('softmax of logits [1000, 1001] is finite and equals [1/(1+e), e/(1+e)]', () => {
    const out = Tensor.zeros([1, 2]);
    k.softmax(t([1, 2], [1000, 1001]), out);
    expect(out.data[0]).toBeCloseTo(1 / (1 + Math.E), 6);
    expect(out.data[1]).toBeCloseTo(Math.E / (1 + Math.E), 6);
  });

  it('softmaxBackward is y ⊙ (dy − Σ dy⊙y) per row', () => {
    const dx = Tensor.zeros([1, 2]);
    k.softmaxBackward(t([1, 2], [1, 0]), t([1, 2], [0.25, 0.75]), dx);
    // Σ dy⊙y = 0.25 → [0.25·0.75, 0.75·(−0.25)]
    expect(values(dx)).toEqual([0.1875, -0.1875]);
  });

  it('activations and their derivatives match hand values (relu/leakyRelu/elu take the left derivative at 0)', () => {
    const x = t([4], [-2, 0, 0.5, 3]);
    const cases = [
      ['relu', 0, [0, 0, 0.5, 3], [0, 0, 1, 1]],
      ['leakyRelu', 0.1, [-0.2, 0, 0.5, 3], [0.1, 0.1, 1, 1]],
      ['elu', 1, [Math.expm1(-2), 0, 0.5, 3], [Math.exp(-2), 1, 1, 1]],
      ['linear', 0, [-2, 0, 0.5, 3], [1, 1, 1, 1]],
    ] as const;
    for (const [kind, alpha, y, dydx] of cases) {
      const out = Tensor.zeros([4]);
      k.activation(kind, x, out, alpha);
      values(out).forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 6));
      const dx = Tensor.zeros([4]);
      k.activationBackward(kind, t([4], [1, 1, 1, 1]), x, out, dx, alpha);
      values(dx).forEach((v, i) => expect(v).toBeCloseTo(dydx[i]!, 6));
    }
  });

  it('sigmoid of ±100 is finite (0 and 1) and tanh/sigmoid derivatives use the output y', () => {
    const y = Tensor.zeros([3]);
    k.activation('sigmoid', t([3], [-100, 0, 100]), y, 0);
    expect(values(y)).toEqual([Math.fround(1 / (1 + Math.exp(100))), 0.5, 1]);
    const dx = Tensor.zeros([1]);
    k.activationBackward('tanh', t([1], [2]), t([1], [123]), t([1], [0.5]), dx, 0);
    expect(dx.data[0]).toBeCloseTo(2 * (1 - 0.25), 6);
  });

  it('sum and sumSquares accumulate in float64 (1 + 1e-8·10⁴ stays 1.0001)', () => {
    const x = new Float32Array(10001).fill(1e-8);
    x[0] = 1;
    expect(k.sum(new Tensor([10001], x))).toBeCloseTo(1 + Math.fround(1e-8) * 10000, 12);
    expect(k.sumSquares(t([3], [1, 2, -3]))).toBe(14);
  });

  it('add, mul, scale, axpy, fill and copy work elementwise and allow out to alias an input', () => {
    const a = t([3], [1, 2, 3]);
    k.add(a, t([3], [1, 1, 1]), a);
    expect(values(a)).toEqual([2, 3, 4]);
    k.mul(a, a, a);
    expect(values(a)).toEqual([4, 9, 16]);
    k.scale(a, 0.5, a);
    expect(values(a)).toEqual([2, 4.5, 8]);
    k.axpy(2, t([3], [1, 0, -1]), a);
    expect(values(a)).toEqual([4, 4.5, 6]);
    const c = Tensor.zeros([3]);
    k.copy(a, c);
    expect(values(c)).toEqual([4, 4.5, 6]);
    k.fill(c, 7);
    expect(values(c)).toEqual([7, 7, 7]);
  });
});
