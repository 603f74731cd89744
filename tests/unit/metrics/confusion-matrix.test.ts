import { InternalError } from '@gradmesh/shared/internal';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../../shared/src/errors.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { ConfusionMatrix } from '../../../shared/src/train/metrics.js';

/**
 * actual\pred   0  1  2  3
 *   0           5  1  0  0
 *   1           2  3  1  0
 *   2           0  0  0  0
 *   3           0  0  0  0
 * Class 2 is predicted once but never actual; class 3 never occurs at all.
 */
function handMade(): ConfusionMatrix {
  const cm = new ConfusionMatrix(4, ['cat', 'dog', 'bird', 'fish']);
  const add = (predicted: number, actual: number, times: number): void => {
    for (let i = 0; i < times; i++) cm.add(predicted, actual);
  };
  add(0, 0, 5);
  add(1, 0, 1);
  add(0, 1, 2);
  add(1, 1, 3);
  add(2, 1, 1);
  return cm;
}

describe('ConfusionMatrix', () => {
  it('accuracy is the diagonal over the total', () => {
    const cm = handMade();
    expect(cm.total).toBe(12);
    expect(cm.accuracy()).toBeCloseTo(8 / 12, 12);
    expect(cm.count(1, 0)).toBe(2);
  });

  it('per-class precision, recall, F1 and support match the hand computation; undefined ratios are 0', () => {
    const [c0, c1, c2, c3] = handMade().perClass();
    expect(c0!.precision).toBeCloseTo(5 / 7, 12);
    expect(c0!.recall).toBeCloseTo(5 / 6, 12);
    expect(c0!.f1).toBeCloseTo(10 / 13, 12);
    expect(c0!.support).toBe(6);
    expect(c1!.precision).toBeCloseTo(3 / 4, 12);
    expect(c1!.recall).toBeCloseTo(1 / 2, 12);
    expect(c1!.f1).toBeCloseTo(0.6, 12);
    // Predicted once, never right, no support: precision 0/1, recall 0/0 → 0, F1 0.
    expect(c2).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(c3).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it('macro F1 averages over the classes that occur (actual or predicted)', () => {
    expect(handMade().macroF1()).toBeCloseTo((10 / 13 + 0.6 + 0) / 3, 12);
    expect(new ConfusionMatrix(3).macroF1()).toBe(0);
    expect(new ConfusionMatrix(3).accuracy()).toBe(0);
  });

  it('addBatch takes the argmax of each row (first on ties) of outputs and targets', () => {
    const cm = new ConfusionMatrix(3);
    const output = Tensor.from([3, 3], [0.1, 0.7, 0.2, 0.5, 0.5, 0, 0.2, 0.3, 0.5]);
    const targets = Tensor.from([3, 3], [0, 1, 0, 0, 0, 1, 0, 0, 1]);
    cm.addBatch(output, targets);
    expect(cm.toJSON().counts).toEqual([
      [0, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(() => cm.addBatch(Tensor.zeros([2, 4]), Tensor.zeros([2, 4]))).toThrow(ShapeError);
    expect(() => cm.addBatch(Tensor.zeros([2, 3]), Tensor.zeros([3, 3]))).toThrow(ShapeError);
  });

  it('merging matrices adds counts exactly', () => {
    const a = handMade();
    a.merge(handMade());
    expect(a.total).toBe(24);
    expect(a.count(0, 0)).toBe(10);
    expect(a.accuracy()).toBeCloseTo(8 / 12, 12);
  });

  it('rejects classes out of range', () => {
    const cm = new ConfusionMatrix(2);
    expect(() => cm.add(2, 0)).toThrow(/predicted class 2 is outside 0\.\.1/);
    expect(() => cm.add(0, -1)).toThrow(/actual class -1/);
    expect(() => new ConfusionMatrix(0)).toThrow(InternalError);
    expect(() => new ConfusionMatrix(2, ['a'])).toThrow(InternalError);
  });

  it('toJSON carries counts and every metric; format prints a readable table', () => {
    const cm = handMade();
    const json = JSON.parse(JSON.stringify(cm));
    expect(json.counts[0]).toEqual([5, 1, 0, 0]);
    expect(json.labels).toEqual(['cat', 'dog', 'bird', 'fish']);
    expect(json.accuracy).toBeCloseTo(8 / 12, 12);
    expect(json.perClass).toHaveLength(4);
    const text = cm.format();
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^actual\\pred\s+cat\s+dog\s+bird\s+fish$/);
    expect(lines[1]).toMatch(/^cat\s+5\s+1\s+0\s+0$/);
    expect(text).toMatch(/^cat\s+0\.7143\s+0\.8333\s+0\.7692\s+6$/m);
    expect(text).toMatch(/accuracy 0\.6667 \(8\/12\)\s+macro F1 0\.4564/);
  });
});
