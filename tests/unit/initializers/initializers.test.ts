import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../../shared/src/errors.js';
import { computeFans } from '../../../shared/src/initializers/fans.js';
import { initializerFromSpec } from '../../../shared/src/initializers/from-spec.js';
import { initialize } from '../../../shared/src/initializers/initialize.js';
import type { InitializerSpec } from '../../../shared/src/initializers/spec.js';
import { Random } from '../../../shared/src/random.js';
import { sizeOf, type Shape } from '../../../shared/src/tensor/tensor.js';

function draw(spec: InitializerSpec, shape: Shape, seed = 7): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  initialize(spec, shape, new Random(seed), out);
  return out;
}

function moments(x: Float32Array): { mean: number; variance: number; maxAbs: number } {
  let sum = 0;
  let maxAbs = 0;
  for (const v of x) {
    sum += v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / x.length;
  let sq = 0;
  for (const v of x) sq += (v - mean) ** 2;
  return { mean, variance: sq / x.length, maxAbs };
}

describe('computeFans', () => {
  it('follows Keras: receptive field × the last two dimensions', () => {
    expect(computeFans([784, 128])).toEqual({ fanIn: 784, fanOut: 128 });
    expect(computeFans([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
    expect(computeFans([10])).toEqual({ fanIn: 10, fanOut: 10 });
    expect(computeFans([])).toEqual({ fanIn: 1, fanOut: 1 });
  });
});

describe('initialize', () => {
  // 60 000 draws: the sample variance is within ~1.2% (1 sd) of the truth; we allow 5%.
  const shape = [3, 3, 40, 50] as const; // fanIn 360, fanOut 450
  const glorotVar = 2 / (360 + 450);
  const heVar = 2 / 360;

  it('glorotUniform stays within ±√(6/(fanIn+fanOut)) with variance 2/(fanIn+fanOut)', () => {
    const x = draw('glorotUniform', shape);
    const m = moments(x);
    expect(m.maxAbs).toBeLessThanOrEqual(Math.fround(Math.sqrt(6 / 810)));
    expect(m.maxAbs).toBeGreaterThan(0.95 * Math.sqrt(6 / 810));
    expect(Math.abs(m.mean)).toBeLessThan(4 * Math.sqrt(glorotVar / x.length));
    expect(m.variance / glorotVar).toBeGreaterThan(0.95);
    expect(m.variance / glorotVar).toBeLessThan(1.05);
  });

  it('heUniform stays within ±√(6/fanIn) with variance 2/fanIn', () => {
    const m = moments(draw('heUniform', shape));
    expect(m.maxAbs).toBeLessThanOrEqual(Math.fround(Math.sqrt(6 / 360)));
    expect(m.variance / heVar).toBeGreaterThan(0.95);
    expect(m.variance / heVar).toBeLessThan(1.05);
  });

  it('glorotNormal and heNormal are truncated at 2σ and still reach the target variance', () => {
    for (const [spec, target] of [['glorotNormal', glorotVar], ['heNormal', heVar]] as const) {
      const x = draw(spec, shape);
      const m = moments(x);
      const sigma = Math.sqrt(target) / 0.87962566103423978;
      expect(m.maxAbs, spec).toBeLessThanOrEqual(Math.fround(2 * sigma));
      expect(Math.abs(m.mean), spec).toBeLessThan(4 * Math.sqrt(target / x.length));
      expect(m.variance / target, spec).toBeGreaterThan(0.95);
      expect(m.variance / target, spec).toBeLessThan(1.05);
    }
  });

  it('zeros, ones and constant fill exactly', () => {
    expect(Array.from(draw('zeros', [3]))).toEqual([0, 0, 0]);
    expect(Array.from(draw('ones', [2, 2]))).toEqual([1, 1, 1, 1]);
    expect(Array.from(draw({ type: 'constant', value: 0.25 }, [2]))).toEqual([0.25, 0.25]);
  });

  it('is deterministic in the seed', () => {
    expect(Array.from(draw('heNormal', [20, 10], 3))).toEqual(Array.from(draw('heNormal', [20, 10], 3)));
    expect(Array.from(draw('heNormal', [20, 10], 3))).not.toEqual(Array.from(draw('heNormal', [20, 10], 4)));
  });

  it('rejects an output buffer of the wrong size', () => {
    expect(() => initialize('zeros', [2, 3], new Random(1), new Float32Array(5))).toThrow(ShapeError);
  });
});

describe('orthogonal', () => {
  /** max |(AᵀA or AAᵀ) − I| for a rows × cols row-major matrix; `byColumns` picks AᵀA. */
  function gramError(a: Float32Array, rows: number, cols: number, byColumns: boolean): number {
    const k = byColumns ? cols : rows;
    const n = byColumns ? rows : cols;
    const at = (vec: number, i: number): number => (byColumns ? a[i * cols + vec]! : a[vec * cols + i]!);
    let worst = 0;
    for (let p = 0; p < k; p++) {
      for (let q = 0; q < k; q++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += at(p, i) * at(q, i);
        worst = Math.max(worst, Math.abs(dot - (p === q ? 1 : 0)));
      }
    }
    return worst;
  }

  it('tall matrices have orthonormal columns (QᵀQ ≈ I)', () => {
    expect(gramError(draw('orthogonal', [50, 20]), 50, 20, true)).toBeLessThan(1e-5);
    // A conv filter [3, 3, 4, 8] is a 36 × 8 matrix.
    expect(gramError(draw('orthogonal', [3, 3, 4, 8]), 36, 8, true)).toBeLessThan(1e-5);
  });

  it('wide matrices have orthonormal rows (QQᵀ ≈ I) and square ones both', () => {
    expect(gramError(draw('orthogonal', [20, 50]), 20, 50, false)).toBeLessThan(1e-5);
    const sq = draw('orthogonal', [16, 16]);
    expect(gramError(sq, 16, 16, true)).toBeLessThan(1e-5);
    expect(gramError(sq, 16, 16, false)).toBeLessThan(1e-5);
  });

  it('negative control: a Glorot matrix is not orthogonal', () => {
    expect(gramError(draw('glorotUniform', [50, 20]), 50, 20, true)).toBeGreaterThan(0.1);
  });

  it('is unbiased (Haar): diagonal entries average 0 and entries have variance 1/n', () => {
    // Without the sign correction, Q's diagonal would lean to one sign (E[Q_ii] ≠ 0).
    const rng = new Random(11);
    const n = 4;
    const draws = 500;
    let diagSum = 0;
    let squareSum = 0;
    const out = new Float32Array(n * n);
    for (let d = 0; d < draws; d++) {
      initialize('orthogonal', [n, n], rng, out);
      for (let i = 0; i < n; i++) diagSum += out[i * n + i]!;
      for (const v of out) squareSum += v * v;
    }
    // Each Q_ii has sd 1/2, so the mean of 2000 of them has sd ≈ 0.011.
    expect(Math.abs(diagSum / (draws * n))).toBeLessThan(0.05);
    expect(squareSum / (draws * n * n)).toBeCloseTo(1 / n, 6);
  });
});

describe('initializerFromSpec', () => {
  const scope = { path: 'model.layers[1].kernelInitializer' };
  it('accepts names, { type } objects and constants', () => {
    expect(initializerFromSpec('heNormal', scope)).toBe('heNormal');
    expect(initializerFromSpec({ type: 'orthogonal' }, scope)).toBe('orthogonal');
    expect(initializerFromSpec({ type: 'constant', value: -0.5 }, scope)).toEqual({ type: 'constant', value: -0.5 });
  });

  it('rejects unknown names and malformed constants, naming the field', () => {
    expect(() => initializerFromSpec('xavier', scope)).toThrow(/kernelInitializer: is not a known initializer \(got "xavier"\).*glorotUniform/);
    expect(() => initializerFromSpec('constant', scope)).toThrow(/needs a value/);
    expect(() => initializerFromSpec({ type: 'constant' }, scope)).toThrow(/kernelInitializer\.value: is required/);
    expect(() => initializerFromSpec({ type: 'constant', value: 'x' }, scope)).toThrow(/kernelInitializer\.value: must be a finite number/);
    expect(() => initializerFromSpec({ type: 'zeros', value: 1 }, scope)).toThrow(/kernelInitializer\.value: is not a known option/);
    expect(() => initializerFromSpec({ type: 'lecun' }, scope)).toThrow(/kernelInitializer\.type: is not a known initializer/);
    expect(() => initializerFromSpec(3, scope)).toThrow(ConfigError);
  });
});
