import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Gru } from '../../../shared/src/layers/gru.js';
import type { Layer } from '../../../shared/src/layers/layer.js';
import { Lstm } from '../../../shared/src/layers/lstm.js';
import { withRecurrentDefaults } from '../../../shared/src/layers/recurrent-common.js';
import { SimpleRnn } from '../../../shared/src/layers/simple-rnn.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

/**
 * The layers compute what Keras computes on the same weights: SimpleRNN and LSTM against
 * tfjs-layers (the Keras port, same weight layout and gate order; its LSTM still defaults to
 * hardSigmoid gates, so sigmoid is asked for explicitly), GRU with reset_after (which
 * tfjs-layers lacks) against a plain float64 loop written from the Keras formula.
 */
const [B, T, F, U] = [3, 5, 4, 6];

function draw(n: number, rng: Random, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

function run(layer: Layer, weights: Float32Array[], x: Float32Array): Float32Array {
  layer.bind(weights.map((w, i) => new Tensor(layer.params[i]!.shape, w)), layer.params.map((p) => Tensor.zeros(p.shape)));
  const ctx = { backend: createReferenceBackend(), training: false, rng: new Random(1) };
  return layer.forward(new Tensor([B, T, F], x), ctx).data;
}

/** Runs a tfjs-layers RNN layer on x with the given weights (the first apply builds it). */
function kerasOutput(layer: tf.layers.Layer, weights: tf.Tensor[], x: Float32Array): Float32Array | Int32Array | Uint8Array {
  const input = tf.tensor(x, [B, T, F]);
  layer.apply(input);
  layer.setWeights(weights);
  return (layer.apply(input) as tf.Tensor).dataSync();
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tolerance);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('parity with Keras on the same weights', () => {
  const rng = new Random(11);
  const x = draw(B * T * F, rng, 1);

  for (const returnSequences of [false, true]) {
    it(`SimpleRNN equals tfjs-layers simpleRNN (returnSequences ${returnSequences})`, () => {
      const weights = [draw(F * U, rng, 0.4), draw(U * U, rng, 0.4), draw(U, rng, 0.2)];
      const ours = run(new SimpleRnn('rnn', [T, F], withRecurrentDefaults({ units: U, returnSequences })), weights, x);
      const keras = tf.layers.simpleRNN({ units: U, returnSequences });
      expectClose(ours, kerasOutput(keras, [tf.tensor(weights[0]!, [F, U]), tf.tensor(weights[1]!, [U, U]), tf.tensor(weights[2]!, [U])], x));
    });

    it(`LSTM equals tfjs-layers lstm whose forget bias is ours + 1 (Note [unit forget bias], returnSequences ${returnSequences})`, () => {
      const weights = [draw(F * 4 * U, rng, 0.4), draw(U * 4 * U, rng, 0.4), draw(4 * U, rng, 0.2)];
      const ours = run(new Lstm('lstm', [T, F], { ...withRecurrentDefaults({ units: U, returnSequences }), unitForgetBias: true }), weights, x);
      const kerasBias = Float32Array.from(weights[2]!, (b, i) => (i >= U && i < 2 * U ? b + 1 : b));
      const keras = tf.layers.lstm({ units: U, returnSequences, recurrentActivation: 'sigmoid' });
      expectClose(ours, kerasOutput(keras, [tf.tensor(weights[0]!, [F, 4 * U]), tf.tensor(weights[1]!, [U, 4 * U]), tf.tensor(kerasBias, [4 * U])], x));
    });
  }

  it('LSTM with unitForgetBias false uses the bias exactly as stored (equals tfjs-layers with the same bias)', () => {
    const weights = [draw(F * 4 * U, rng, 0.4), draw(U * 4 * U, rng, 0.4), draw(4 * U, rng, 0.2)];
    const ours = run(new Lstm('lstm', [T, F], { ...withRecurrentDefaults({ units: U }), unitForgetBias: false }), weights, x);
    const keras = tf.layers.lstm({ units: U, recurrentActivation: 'sigmoid' });
    expectClose(ours, kerasOutput(keras, [tf.tensor(weights[0]!, [F, 4 * U]), tf.tensor(weights[1]!, [U, 4 * U]), tf.tensor(weights[2]!, [4 * U])], x));
  });

  it('GRU equals the Keras reset_after formula computed in float64 (bias row 0 input, row 1 recurrent)', () => {
    const [W, R, bias] = [draw(F * 3 * U, rng, 0.4), draw(U * 3 * U, rng, 0.4), draw(2 * 3 * U, rng, 0.2)];
    const ours = run(new Gru('gru', [T, F], withRecurrentDefaults({ units: U, returnSequences: true })), [W, R, bias], x);
    const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
    const expected = new Float64Array(B * T * U);
    for (let b = 0; b < B; b++) {
      let h = new Float64Array(U);
      for (let t = 0; t < T; t++) {
        const xp = new Float64Array(3 * U);
        const rp = new Float64Array(3 * U);
        for (let j = 0; j < 3 * U; j++) {
          let input = bias[j]!;
          let recurrent = bias[3 * U + j]!;
          for (let f = 0; f < F; f++) input += x[(b * T + t) * F + f]! * W[f * 3 * U + j]!;
          for (let k = 0; k < U; k++) recurrent += h[k]! * R[k * 3 * U + j]!;
          xp[j] = input;
          rp[j] = recurrent;
        }
        const next = new Float64Array(U);
        for (let u = 0; u < U; u++) {
          const z = sigmoid(xp[u]! + rp[u]!);
          const r = sigmoid(xp[U + u]! + rp[U + u]!);
          const cand = Math.tanh(xp[2 * U + u]! + r * rp[2 * U + u]!);
          next[u] = z * h[u]! + (1 - z) * cand;
          expected[(b * T + t) * U + u] = next[u]!;
        }
        h = next;
      }
    }
    expectClose(ours, expected);
  });
});
