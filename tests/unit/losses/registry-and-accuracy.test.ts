import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { countCorrect } from '../../../shared/src/losses/accuracy.js';
import { lossFromSpec } from '../../../shared/src/losses/registry.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

const scope = { path: 'training.loss' };

describe('lossFromSpec', () => {
  it('accepts each name, the mse alias and the object form', () => {
    expect(lossFromSpec('softmaxCrossEntropy', scope).name).toBe('softmaxCrossEntropy');
    expect(lossFromSpec('categoricalCrossEntropy', scope).name).toBe('categoricalCrossEntropy');
    expect(lossFromSpec('mse', scope).name).toBe('meanSquaredError');
    expect(lossFromSpec('meanSquaredError', scope).name).toBe('meanSquaredError');
    expect(lossFromSpec('meanAbsoluteError', scope).name).toBe('meanAbsoluteError');
    expect(lossFromSpec('mae', scope).name).toBe('meanAbsoluteError');
    expect(lossFromSpec({ type: 'binaryCrossEntropy', fromLogits: true }, scope).name).toBe('binaryCrossEntropy');
  });

  it('categoricalCrossEntropy with fromLogits is the fused softmaxCrossEntropy', () => {
    expect(lossFromSpec({ type: 'categoricalCrossEntropy', fromLogits: true }, scope).name).toBe('softmaxCrossEntropy');
  });

  it('binaryCrossEntropy fromLogits reads the output as a logit (z = 0 costs log 2), otherwise as a probability (p = 0.5 costs log 2, p = 0.9 costs −log 0.9)', () => {
    const t = Tensor.from([1, 1], [1]);
    const fromLogits = lossFromSpec({ type: 'binaryCrossEntropy', fromLogits: true }, scope);
    const fromProbabilities = lossFromSpec('binaryCrossEntropy', scope);
    expect(fromLogits.compute(Tensor.from([1, 1], [0]), t, null, createReferenceBackend())).toBeCloseTo(Math.log(2), 6);
    expect(fromProbabilities.compute(Tensor.from([1, 1], [0.5]), t, null, createReferenceBackend())).toBeCloseTo(Math.log(2), 6);
    expect(fromProbabilities.compute(Tensor.from([1, 1], [0.9]), t, null, createReferenceBackend())).toBeCloseTo(-Math.log(0.9), 6);
    expect(fromLogits.compute(Tensor.from([1, 1], [0.9]), t, null, createReferenceBackend())).toBeCloseTo(Math.log1p(Math.exp(-0.9)), 6);
  });

  it('rejects an unknown name with a ConfigError listing the known ones', () => {
    expect(() => lossFromSpec('crossEntropy', scope)).toThrow(ConfigError);
    expect(() => lossFromSpec('crossEntropy', scope)).toThrow(/training\.loss: is not a known loss.*softmaxCrossEntropy/);
  });

  it('rejects fromLogits on a loss it does not apply to, unknown keys, and non-string/object specs', () => {
    expect(() => lossFromSpec({ type: 'mse', fromLogits: true }, scope)).toThrow(/training\.loss\.fromLogits: does not apply to mse/);
    expect(() => lossFromSpec({ type: 'mse', weight: 2 }, scope)).toThrow(/training\.loss\.weight: is not a known option/);
    expect(() => lossFromSpec(3, scope)).toThrow(ConfigError);
  });
});

describe('countCorrect', () => {
  it('counts rows whose argmax equals the one-hot argmax; a tie goes to the first index', () => {
    const out = Tensor.from([3, 3], [0.1, 0.7, 0.2, 0.5, 0.5, 0, 0.2, 0.3, 0.5]);
    const targets = Tensor.from([3, 3], [0, 1, 0, 0, 1, 0, 0, 0, 1]);
    // row 0 correct; row 1 tie between 0 and 1 → 0 ≠ 1; row 2 correct
    expect(countCorrect(out, targets)).toBe(2);
  });
});
