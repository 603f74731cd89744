import { describe, expect, it } from 'vitest';
import { checkGradient, scaleLargest } from '../../helpers/gradcheck.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { binaryCrossEntropy } from '../../../shared/src/losses/binary-cross-entropy.js';
import { categoricalCrossEntropy } from '../../../shared/src/losses/categorical-cross-entropy.js';
import type { Loss } from '../../../shared/src/losses/loss.js';
import { meanAbsoluteError } from '../../../shared/src/losses/mean-absolute-error.js';
import { meanSquaredError } from '../../../shared/src/losses/mean-squared-error.js';
import { softmaxCrossEntropy } from '../../../shared/src/losses/softmax-cross-entropy.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

const backend = createReferenceBackend();

function oneHot(rows: number, classes: number, rng: Random): Tensor {
  const t = Tensor.zeros([rows, classes]);
  for (let r = 0; r < rows; r++) t.data[r * classes + rng.int(classes)] = 1;
  return t;
}

/** Probabilities: a softmax of random logits per row, so every entry is inside (0, 1). */
function distribution(rows: number, classes: number, rng: Random): Tensor {
  const t = Tensor.zeros([rows, classes]);
  for (let r = 0; r < rows; r++) {
    const e = Array.from({ length: classes }, () => Math.exp(rng.normal()));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (t.data[r * classes + c] = v / s));
  }
  return t;
}

function gradientCheck(loss: Loss, output: Tensor, target: Tensor, tamper?: (g: Float64Array) => void) {
  const dOutput = Tensor.zeros(output.shape);
  loss.compute(output, target, dOutput, backend);
  const analytic = Float64Array.from(dOutput.data);
  tamper?.(analytic);
  return checkGradient(() => loss.compute(output, target, null, backend), output.data, analytic, {}, loss.name);
}

const rng = new Random(3);
const cases: Array<{ loss: Loss; title: string; output: () => Tensor; target: () => Tensor }> = [
  { loss: softmaxCrossEntropy, title: 'softmaxCrossEntropy on logits', output: () => Tensor.from([4, 5], Array.from({ length: 20 }, () => 2 * rng.normal())), target: () => oneHot(4, 5, rng) },
  { loss: categoricalCrossEntropy, title: 'categoricalCrossEntropy on probabilities', output: () => distribution(4, 5, rng), target: () => oneHot(4, 5, rng) },
  { loss: meanSquaredError, title: 'meanSquaredError on [3, 2, 2] outputs', output: () => Tensor.from([3, 2, 2], Array.from({ length: 12 }, () => rng.normal())), target: () => Tensor.from([3, 2, 2], Array.from({ length: 12 }, () => rng.normal())) },
  // Outputs kept ≥ 0.2 away from their targets: the finite differences must not straddle MAE's kink at y = t.
  { loss: meanAbsoluteError, title: 'meanAbsoluteError on [3, 2] outputs (away from the kink)', output: () => Tensor.from([3, 2], [0.5, -1.2, 2, 0.3, -0.4, 1.1]), target: () => Tensor.from([3, 2], Array.from([0.5, -1.2, 2, 0.3, -0.4, 1.1], (y, i) => y + (i % 2 === 0 ? 1 : -1) * (0.2 + rng.next()))) },
  { loss: binaryCrossEntropy(true), title: 'binaryCrossEntropy from logits with soft targets', output: () => Tensor.from([3, 4], Array.from({ length: 12 }, () => 2 * rng.normal())), target: () => Tensor.from([3, 4], Array.from({ length: 12 }, () => rng.next())) },
  { loss: binaryCrossEntropy(false), title: 'binaryCrossEntropy from probabilities', output: () => Tensor.from([3, 4], Array.from({ length: 12 }, () => 0.1 + 0.8 * rng.next())), target: () => Tensor.from([3, 4], Array.from({ length: 12 }, () => (rng.next() < 0.5 ? 0 : 1))) },
];

describe('losses', () => {
  for (const c of cases) {
    it(`${c.title}: the gradient of the summed loss matches finite differences`, () => {
      const result = gradientCheck(c.loss, c.output(), c.target());
      expect(result.passed, JSON.stringify(result)).toBe(true);
    });
    it(`${c.title}: negative control — the largest gradient element off by 1% fails the check`, () => {
      expect(gradientCheck(c.loss, c.output(), c.target(), (g) => scaleLargest(g, 1.01)).passed).toBe(false);
    });
  }

  it('meanSquaredError is the per-sample mean over features, summed over samples (hand-computed)', () => {
    const out = Tensor.from([2, 2], [1, 2, 3, 4]);
    const target = Tensor.from([2, 2], [0, 0, 3, 2]);
    const d = Tensor.zeros([2, 2]);
    // sample 0: (1 + 4)/2 = 2.5; sample 1: (0 + 4)/2 = 2 → 4.5; gradient 2(y − t)/2 = y − t
    expect(meanSquaredError.compute(out, target, d, backend)).toBeCloseTo(4.5, 6);
    expect(Array.from(d.data)).toEqual([1, 2, 0, 2]);
  });

  it('meanAbsoluteError is the per-sample mean over features of |y − t|, summed over samples, with gradient sign(y − t)/F and 0 at y = t (hand-computed)', () => {
    const out = Tensor.from([2, 2], [1, 2, 3, 4]);
    const target = Tensor.from([2, 2], [0, 0, 3, 6]);
    const d = Tensor.zeros([2, 2]);
    // sample 0: (1 + 2)/2 = 1.5; sample 1: (0 + 2)/2 = 1 → 2.5
    expect(meanAbsoluteError.compute(out, target, d, backend)).toBeCloseTo(2.5, 6);
    expect(Array.from(d.data)).toEqual([0.5, 0.5, 0, -0.5]);
  });

  it('softmaxCrossEntropy of a uniform row is log C per sample and sums over samples', () => {
    const loss = softmaxCrossEntropy.compute(Tensor.zeros([3, 4]), oneHot(3, 4, new Random(1)), null, backend);
    expect(loss).toBeCloseTo(3 * Math.log(4), 5);
  });

  it('binaryCrossEntropy from logits stays finite and exact for z = ±100', () => {
    const d = Tensor.zeros([1, 4]);
    // t=1,z=100 → ~0; t=0,z=100 → 100; t=1,z=−100 → 100; t=0,z=−100 → ~0. Mean over 4 features.
    const loss = binaryCrossEntropy(true).compute(Tensor.from([1, 4], [100, 100, -100, -100]), Tensor.from([1, 4], [1, 0, 1, 0]), d, backend);
    expect(loss).toBeCloseTo(200 / 4, 6);
    expect(Array.from(d.data).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0.25, -0.25, 0]);
  });

  it('categoricalCrossEntropy clips probabilities at 1e-7: p = 0 on the true class costs −log 1e-7, with zero gradient there', () => {
    const d = Tensor.zeros([1, 2]);
    const loss = categoricalCrossEntropy.compute(Tensor.from([1, 2], [0, 1]), Tensor.from([1, 2], [1, 0]), d, backend);
    expect(loss).toBeCloseTo(-Math.log(1e-7), 4);
    expect(Array.from(d.data)).toEqual([0, 0]);
  });

  it('rejects an output whose shape differs from the target with a ShapeError naming both shapes', () => {
    expect(() => meanSquaredError.compute(Tensor.zeros([2, 3]), Tensor.zeros([2, 4]), null, backend)).toThrow(/\[2, 3\].*\[2, 4\]/);
  });
});
