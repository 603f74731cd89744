import { expect, it } from 'vitest';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import type { MatMulOptions } from '../../../shared/src/kernels/signatures/linear.js';
import { Random } from '../../../shared/src/random.js';
import { describeEachBackend } from './backends.js';
import { absCopy, expectDotClose, expectUlps, heapCopy, randomPair } from './compare.js';

/** Odd sizes: none a multiple of the SIMD width (4), the tile (4×8) or a block. */
const ODD = [1, 3, 5, 7, 17, 33, 65, 127];
const VARIANTS: readonly MatMulOptions[] = [
  {}, { transposeA: true }, { transposeB: true }, { transposeA: true, transposeB: true },
];

describeEachBackend('matMul', (backend) => {
  function check(m: number, n: number, k: number, options: MatMulOptions, rng: Random): void {
    const b = backend();
    const a = randomPair(b, options.transposeA ? [k, m] : [m, k], rng);
    const bb = randomPair(b, options.transposeB ? [n, k] : [k, n], rng);
    const out = randomPair(b, [m, n], rng);
    b.kernels.matMul(a.t, bb.t, out.t, options);
    referenceKernels.matMul(a.ref, bb.ref, out.ref, options);
    const scale = heapCopy(out.t);
    scale.data.fill(options.accumulate ? 1 : 0);
    referenceKernels.matMul(absCopy(a.ref), absCopy(bb.ref), scale, { ...options, accumulate: true });
    expectDotClose(out.t.data, out.ref.data, scale.data, k, `${m}x${n}x${k} ${JSON.stringify(options)}`);
  }

  it('equals the reference on odd shapes for every transpose variant, overwriting and accumulating', () => {
    const rng = new Random(11);
    for (const variant of VARIANTS) {
      for (const accumulate of [false, true]) {
        for (let trial = 0; trial < 6; trial++) {
          const pick = (): number => ODD[rng.int(ODD.length)]!;
          check(pick(), pick(), pick(), { ...variant, accumulate }, rng);
        }
      }
    }
  });

  it('equals the reference across block boundaries (rows > 64, depth > 256, columns > 1024)', () => {
    const rng = new Random(12);
    check(70, 1031, 300, {}, rng);
    check(67, 9, 517, { transposeA: true, transposeB: true, accumulate: true }, rng);
  });

  it('writes zeros (or leaves out unchanged when accumulating) for an empty inner dimension', () => {
    const b = backend();
    const rng = new Random(13);
    const a = b.alloc([3, 0]);
    const bb = b.alloc([0, 5]);
    const out = randomPair(b, [3, 5], rng);
    const before = Float32Array.from(out.t.data);
    b.kernels.matMul(a, bb, out.t, { accumulate: true });
    expect(Array.from(out.t.data)).toEqual(Array.from(before));
    b.kernels.matMul(a, bb, out.t);
    expect(Array.from(out.t.data)).toEqual(new Array(15).fill(0));
  });

  it('rejects mismatched inner sizes with a ShapeError', () => {
    const b = backend();
    expect(() => b.kernels.matMul(b.alloc([2, 3]), b.alloc([4, 5]), b.alloc([2, 5]))).toThrow(/inner sizes/);
  });
});

describeEachBackend('biasAdd / biasGrad', (backend) => {
  it('biasAdd equals the reference exactly, also in place', () => {
    const b = backend();
    const rng = new Random(21);
    for (const [rows, c] of [[1, 1], [7, 3], [33, 17], [5, 65]] as const) {
      const x = randomPair(b, [rows, c], rng);
      const bias = randomPair(b, [c], rng);
      const out = b.alloc([rows, c]);
      b.kernels.biasAdd(x.t, bias.t, out);
      const want = heapCopy(out);
      referenceKernels.biasAdd(x.ref, bias.ref, want);
      expectUlps(out.data, want.data, 0, 'out');
      b.kernels.biasAdd(x.t, bias.t, x.t);
      expectUlps(x.t.data, want.data, 0, 'in place');
    }
  });

  it('biasGrad equals the reference exactly (float64 column sums in row order), overwriting and accumulating', () => {
    const b = backend();
    const rng = new Random(22);
    for (const shape of [[1, 1], [7, 3], [127, 17], [65, 33], [3, 5, 7]]) {
      const dy = randomPair(b, shape, rng);
      const width = shape[shape.length - 1]!;
      for (const accumulate of [false, true]) {
        const out = randomPair(b, [width], rng);
        b.kernels.biasGrad(dy.t, out.t, accumulate);
        referenceKernels.biasGrad(dy.ref, out.ref, accumulate);
        expectUlps(out.t.data, out.ref.data, 0, `[${shape.join(', ')}] accumulate=${accumulate}`);
      }
    }
  });
});
