import { describe, expect, it } from 'vitest';
import { initialize } from '../../../shared/src/initializers/initialize.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import type { RecurrentActivation } from '../../../shared/src/kernels/signatures/recurrent.js';
import { meanSquaredError } from '../../../shared/src/losses/mean-squared-error.js';
import { withRecurrentDefaults } from '../../../shared/src/layers/recurrent-common.js';
import { SimpleRnn } from '../../../shared/src/layers/simple-rnn.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { clipByGlobalNorm } from '../../../shared/src/train/clip.js';

/**
 * Exploding gradients (Pascanu et al. 2013): with a recurrent kernel whose spectral radius is
 * well above 1, ∂h_T/∂h_1 is a product of ~60 Jacobians and the gradient grows geometrically.
 * The recurrent kernel is the default orthogonal draw scaled up, so its scale is known exactly.
 */
const [STEPS, FEATURES, UNITS, BATCH] = [60, 2, 8, 4];
const MAX_NORM = 1;
const LEARNING_RATE = 0.05;

function explodingRnn(activation: RecurrentActivation, recurrentScale: number) {
  const layer = new SimpleRnn('rnn', [STEPS, FEATURES], withRecurrentDefaults({ units: UNITS, activation }));
  const rng = new Random(3);
  const values = layer.params.map((p) => Tensor.zeros(p.shape));
  const grads = layer.params.map((p) => Tensor.zeros(p.shape));
  layer.params.forEach((p, i) => initialize(p.init, p.shape, rng, values[i]!.data));
  for (let i = 0; i < values[1]!.size; i++) values[1]!.data[i] = values[1]!.data[i]! * recurrentScale;
  layer.bind(values, grads);
  const x = new Tensor([BATCH, STEPS, FEATURES], new Float32Array(BATCH * STEPS * FEATURES).map(() => 0.5 * rng.normal()));
  const target = new Tensor([BATCH, UNITS], new Float32Array(BATCH * UNITS).map(() => rng.uniform(-0.5, 0.5)));
  const backend = createReferenceBackend();
  const ctx = { backend, training: true, rng };
  const k = backend.kernels;
  const gradientNorm = (): number => Math.sqrt(grads.reduce((s, g) => s + k.sumSquares(g), 0));
  /** Loss and gradients at the current weights (sums over the batch, as the engine defines them). */
  const evaluate = (): number => {
    const y = layer.forward(x, ctx);
    const dy = backend.alloc(y.shape);
    const loss = meanSquaredError.compute(y, target, dy, backend);
    layer.backward(dy, ctx, false);
    return loss;
  };
  /** `steps` plain SGD steps, optionally clipped; returns the loss and the pre-clip norm of each. */
  const train = (steps: number, clip: boolean): { losses: number[]; norms: number[] } => {
    const losses: number[] = [];
    const norms: number[] = [];
    for (let s = 0; s < steps; s++) {
      losses.push(evaluate());
      norms.push(clip ? clipByGlobalNorm(grads, MAX_NORM, k).norm : gradientNorm());
      grads.forEach((g, i) => k.axpy(-LEARNING_RATE, g, values[i]!));
    }
    return { losses, norms };
  };
  const weightsFinite = (): boolean => values.every((v) => v.data.every(Number.isFinite));
  return { evaluate, gradientNorm, grads, k, train, weightsFinite };
}

describe('an exploding SimpleRNN is tamed by gradient clipping', () => {
  it('a relu SimpleRNN with recurrent scale 1.4 over 60 steps has a gradient norm > 10⁴; clipByGlobalNorm brings it to ≤ maxNorm', () => {
    const rnn = explodingRnn('relu', 1.4);
    rnn.evaluate();
    const before = rnn.gradientNorm();
    expect(before).toBeGreaterThan(1e4);
    const { norm, scaled } = clipByGlobalNorm(rnn.grads, MAX_NORM, rnn.k);
    expect(norm).toBeCloseTo(before, 0);
    expect(scaled).toBe(true);
    expect(rnn.gradientNorm()).toBeLessThanOrEqual(MAX_NORM * (1 + 1e-6));
  });

  it('without clipping a few SGD steps blow up (non-finite loss or weights); with clipping they stay finite and the loss falls 100×', () => {
    const unclipped = explodingRnn('relu', 1.4).train(5, false);
    const blewUp = unclipped.losses.some((l) => !Number.isFinite(l)) || unclipped.norms.some((n) => !Number.isFinite(n));
    expect(blewUp, `losses ${unclipped.losses.join(', ')}`).toBe(true);

    const rnn = explodingRnn('relu', 1.4);
    const clipped = rnn.train(5, true);
    expect(clipped.losses.every(Number.isFinite) && clipped.norms.every(Number.isFinite)).toBe(true);
    expect(rnn.weightsFinite()).toBe(true);
    expect(clipped.losses[4]!).toBeLessThan(clipped.losses[0]! / 100);
  });

  it('a tanh SimpleRNN explodes in the gradient alone: bounded loss, norm > 10⁴ at recurrent scale 4, ≤ maxNorm after clipping', () => {
    const rnn = explodingRnn('tanh', 4);
    const loss = rnn.evaluate();
    expect(loss).toBeLessThan(BATCH * 4); // |h| ≤ 1 and |target| ≤ ½ bound each sample's mse by 2.25
    expect(rnn.gradientNorm()).toBeGreaterThan(1e4);
    clipByGlobalNorm(rnn.grads, MAX_NORM, rnn.k);
    expect(rnn.gradientNorm()).toBeLessThanOrEqual(MAX_NORM * (1 + 1e-6));
  });

  it('control: at recurrent scale 1 (orthogonal, the default) the same network has an ordinary gradient norm', () => {
    const rnn = explodingRnn('relu', 1);
    rnn.evaluate();
    expect(rnn.gradientNorm()).toBeLessThan(100);
  });
});
