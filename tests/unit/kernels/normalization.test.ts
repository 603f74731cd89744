import { expect, it } from 'vitest';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { describeEachBackend } from './backends.js';
import { randomPair } from './compare.js';

/** [M, C] views: one channel, an odd count (the f64x2 tail), the MNIST-CNN-BN's 32 and 64 over 13×13 maps. */
const CASES: readonly (readonly [number, number])[] = [[7, 1], [5, 3], [16, 8], [2 * 13 * 13, 32], [3 * 11 * 11, 64], [9, 17]];

describeEachBackend('batch normalisation', (backend) => {
  it('train, infer and backward equal the reference bit for bit (float64 per-channel sums in row order)', () => {
    const rng = new Random(91);
    for (const [m, c] of CASES) {
      const b = backend();
      const label = `[${m}, ${c}]`;
      const x = randomPair(b, [m, c], rng, -3, 5);
      const gamma = randomPair(b, [c], rng, 0.5, 1.5);
      const beta = randomPair(b, [c], rng);
      const dy = randomPair(b, [m, c], rng);
      const out = b.alloc([m, c]);
      const mean = b.alloc([c]);
      const variance = b.alloc([c]);
      b.kernels.batchNormTrain(x.t, gamma.t, beta.t, 1e-3, out, mean, variance);
      const want = { out: Tensor.zeros([m, c]), mean: Tensor.zeros([c]), variance: Tensor.zeros([c]) };
      referenceKernels.batchNormTrain(x.ref, gamma.ref, beta.ref, 1e-3, want.out, want.mean, want.variance);
      expect(Array.from(mean.data), `mean ${label}`).toEqual(Array.from(want.mean.data));
      expect(Array.from(variance.data), `variance ${label}`).toEqual(Array.from(want.variance.data));
      expect(Array.from(out.data), `train ${label}`).toEqual(Array.from(want.out.data));

      const inferred = b.alloc([m, c]);
      b.kernels.batchNormInfer(x.t, gamma.t, beta.t, mean, variance, 1e-3, inferred);
      const wantInferred = Tensor.zeros([m, c]);
      referenceKernels.batchNormInfer(x.ref, gamma.ref, beta.ref, want.mean, want.variance, 1e-3, wantInferred);
      expect(Array.from(inferred.data), `infer ${label}`).toEqual(Array.from(wantInferred.data));

      const dx = randomPair(b, [m, c], rng).t; // random contents: the kernel must overwrite them
      const dGamma = randomPair(b, [c], rng).t;
      const dBeta = randomPair(b, [c], rng).t;
      b.kernels.batchNormBackward(dy.t, x.t, gamma.t, mean, variance, 1e-3, dx, dGamma, dBeta);
      const wantBack = { dx: Tensor.zeros([m, c]), dGamma: Tensor.zeros([c]), dBeta: Tensor.zeros([c]) };
      referenceKernels.batchNormBackward(dy.ref, x.ref, gamma.ref, want.mean, want.variance, 1e-3, wantBack.dx, wantBack.dGamma, wantBack.dBeta);
      expect(Array.from(dx.data), `dx ${label}`).toEqual(Array.from(wantBack.dx.data));
      expect(Array.from(dGamma.data), `dGamma ${label}`).toEqual(Array.from(wantBack.dGamma.data));
      expect(Array.from(dBeta.data), `dBeta ${label}`).toEqual(Array.from(wantBack.dBeta.data));
    }
  });

  it('normalises each channel to mean ≈ β and variance ≈ γ² (a check independent of the reference)', () => {
    const b = backend();
    const rng = new Random(92);
    const x = randomPair(b, [400, 3], rng, 2, 9).t;
    const gamma = b.alloc([3]);
    gamma.data.set([1, 2, 0.5]);
    const beta = b.alloc([3]);
    beta.data.set([0, -1, 4]);
    const out = b.alloc([400, 3]);
    b.kernels.batchNormTrain(x, gamma, beta, 1e-5, out, b.alloc([3]), b.alloc([3]));
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < 400; r++) s += out.data[r * 3 + c]!;
      const mu = s / 400;
      for (let r = 0; r < 400; r++) s2 += (out.data[r * 3 + c]! - mu) ** 2;
      expect(mu).toBeCloseTo(beta.data[c]!, 4);
      expect(s2 / 400).toBeCloseTo(gamma.data[c]! ** 2, 3);
    }
  });
});
