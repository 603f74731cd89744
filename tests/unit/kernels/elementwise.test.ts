import { expect, it } from 'vitest';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import { ACTIVATION_KINDS } from '../../../shared/src/kernels/signatures/elementwise.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { describeEachBackend } from './backends.js';
import { backendTensor, expectUlps, heapCopy, randomPair } from './compare.js';

const SIZES = [1, 3, 7, 17, 33, 127, 1000];
/** Values where activations change behaviour: zeros of both signs, and saturating magnitudes. */
const SPECIAL = [0, -0, 1e-30, -1e-30, 30, -30, 100, -100, 1e4, -1e4];

describeEachBackend('activations', (backend) => {
  function inputs(n: number, rng: Random): ReturnType<typeof randomPair> {
    const b = backend();
    const x = randomPair(b, [n], rng, -4, 4);
    for (let i = 0; i < Math.min(n, SPECIAL.length); i++) {
      x.t.data[i] = SPECIAL[i]!;
      x.ref.data[i] = SPECIAL[i]!;
    }
    return x;
  }

  // relu, leakyRelu and linear are exact; sigmoid, tanh and elu call exp/tanh: ≤ 2 ulp (compare.ts).
  const ulps = (kind: string): number => (['sigmoid', 'tanh', 'elu'].includes(kind) ? 2 : 0);

  it('forward equals the reference for every kind, also in place', () => {
    const rng = new Random(51);
    for (const kind of ACTIVATION_KINDS) {
      for (const n of SIZES) {
        const b = backend();
        const x = inputs(n, rng);
        const out = b.alloc([n]);
        const want = Tensor.zeros([n]);
        b.kernels.activation(kind, x.t, out, 0.2);
        referenceKernels.activation(kind, x.ref, want, 0.2);
        expectUlps(out.data, want.data, ulps(kind), `${kind} n=${n}`);
        b.kernels.activation(kind, x.t, x.t, 0.2);
        expectUlps(x.t.data, want.data, ulps(kind), `${kind} n=${n} in place`);
      }
    }
  });

  it('backward equals the reference for every kind (y = f(x) from the reference)', () => {
    const rng = new Random(52);
    for (const kind of ACTIVATION_KINDS) {
      for (const n of SIZES) {
        const b = backend();
        const x = inputs(n, rng);
        const y = Tensor.zeros([n]);
        referenceKernels.activation(kind, x.ref, y, 0.3);
        const yt = backendTensor(b, [n], y.data);
        const dy = randomPair(b, [n], rng);
        const dx = b.alloc([n]);
        const want = Tensor.zeros([n]);
        b.kernels.activationBackward(kind, dy.t, x.t, yt, dx, 0.3);
        referenceKernels.activationBackward(kind, dy.ref, x.ref, y, want, 0.3);
        expectUlps(dx.data, want.data, kind === 'elu' ? 2 : 0, `${kind} n=${n}`);
      }
    }
  });
});

describeEachBackend('arithmetic', (backend) => {
  it('add, mul, scale, axpy, fill and copy equal the reference exactly, out aliasing an input', () => {
    const rng = new Random(53);
    for (const n of SIZES) {
      const b = backend();
      const a = randomPair(b, [n], rng);
      const c = randomPair(b, [n], rng);
      const out = b.alloc([n]);
      const want = Tensor.zeros([n]);
      b.kernels.add(a.t, c.t, out);
      referenceKernels.add(a.ref, c.ref, want);
      expectUlps(out.data, want.data, 0, `add ${n}`);
      b.kernels.mul(a.t, c.t, out);
      referenceKernels.mul(a.ref, c.ref, want);
      expectUlps(out.data, want.data, 0, `mul ${n}`);
      // 0.1 is not a float32: the float64 product must be rounded once, as the reference does.
      b.kernels.scale(a.t, 0.1, out);
      referenceKernels.scale(a.ref, 0.1, want);
      expectUlps(out.data, want.data, 0, `scale ${n}`);
      b.kernels.axpy(-0.3, a.t, c.t);
      referenceKernels.axpy(-0.3, a.ref, c.ref);
      expectUlps(c.t.data, c.ref.data, 0, `axpy ${n}`);
      b.kernels.add(a.t, c.t, a.t);
      referenceKernels.add(a.ref, c.ref, a.ref);
      expectUlps(a.t.data, a.ref.data, 0, `add in place ${n}`);
      b.kernels.fill(out, 0.7);
      referenceKernels.fill(want, 0.7);
      expectUlps(out.data, want.data, 0, `fill ${n}`);
      b.kernels.copy(c.t, out);
      expectUlps(out.data, c.ref.data, 0, `copy ${n}`);
    }
  });
});

describeEachBackend('softmax', (backend) => {
  it('softmax and softmaxBackward equal the reference within 2 ulp, including logits of ±1e4', () => {
    const rng = new Random(54);
    for (const [rows, cols] of [[1, 1], [3, 10], [17, 7], [5, 33]] as const) {
      const b = backend();
      const x = randomPair(b, [rows, cols], rng, -5, 5);
      x.t.data[0] = 1e4;
      x.ref.data[0] = 1e4;
      const y = b.alloc([rows, cols]);
      const want = Tensor.zeros([rows, cols]);
      b.kernels.softmax(x.t, y);
      referenceKernels.softmax(x.ref, want);
      expectUlps(y.data, want.data, 2, `softmax ${rows}x${cols}`);
      const dy = randomPair(b, [rows, cols], rng);
      const dx = b.alloc([rows, cols]);
      const wantDx = Tensor.zeros([rows, cols]);
      b.kernels.softmaxBackward(dy.t, y, dx);
      referenceKernels.softmaxBackward(dy.ref, heapCopy(y), wantDx);
      expectUlps(dx.data, wantDx.data, 0, `softmaxBackward ${rows}x${cols}`);
    }
  });
});

describeEachBackend('softmaxCrossEntropy', (backend) => {
  it('loss within 1e-12 relative and gradient within 2 ulp of the reference, one-hot and soft targets', () => {
    const rng = new Random(55);
    for (const [rows, cols] of [[1, 2], [7, 10], [33, 3], [4, 17]] as const) {
      for (const soft of [false, true]) {
        const b = backend();
        const z = randomPair(b, [rows, cols], rng, -8, 8);
        z.t.data[0] = -1e4;
        z.ref.data[0] = -1e4;
        const targets = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          if (soft) {
            let s = 0;
            for (let c = 0; c < cols; c++) s += targets[r * cols + c] = rng.next();
            for (let c = 0; c < cols; c++) targets[r * cols + c]! /= s;
          } else {
            targets[r * cols + rng.int(cols)] = 1;
          }
        }
        const t = backendTensor(b, [rows, cols], targets);
        const g = b.alloc([rows, cols]);
        const want = Tensor.zeros([rows, cols]);
        const loss = b.kernels.softmaxCrossEntropy(z.t, t, g, 0.25);
        const wantLoss = referenceKernels.softmaxCrossEntropy(z.ref, heapCopy(t), want, 0.25);
        expect(Number.isFinite(loss)).toBe(true);
        expect(Math.abs(loss - wantLoss)).toBeLessThanOrEqual(1e-12 * Math.abs(wantLoss));
        expectUlps(g.data, want.data, 2, `${rows}x${cols} soft=${soft}`);
      }
    }
  });
});

describeEachBackend('reductions', (backend) => {
  it('sum and sumSquares equal the reference within 1e-12 of Σ|x| (float64, fixed order)', () => {
    const rng = new Random(56);
    for (const n of [0, ...SIZES, 4099]) {
      const b = backend();
      const x = randomPair(b, [n], rng, -3, 3);
      let abs = 0;
      for (const v of x.ref.data) abs += Math.abs(v);
      expect(Math.abs(b.kernels.sum(x.t) - referenceKernels.sum(x.ref))).toBeLessThanOrEqual(1e-12 * abs);
      expect(Math.abs(b.kernels.sumSquares(x.t) - referenceKernels.sumSquares(x.ref))).toBeLessThanOrEqual(1e-12 * 3 * abs);
      expect(b.kernels.sum(x.t)).toBe(b.kernels.sum(x.t));
    }
  });
});
