import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../shared/src/config/validate.js';
import { ConfigError } from '../../../shared/src/errors.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { binaryCrossEntropy } from '../../../shared/src/losses/binary-cross-entropy.js';
import { meanSquaredError } from '../../../shared/src/losses/mean-squared-error.js';
import { autoencoderFromSpec } from '../../../shared/src/model/autoencoder.js';
import { ParameterStore } from '../../../shared/src/model/parameters.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { checkGradient, describe as describeResult } from '../../helpers/gradcheck.js';

const scope = { path: 'model' };

function spec(extra: Partial<JsonObject> = {}): JsonObject {
  return {
    kind: 'autoencoder',
    inputShape: [8],
    encoder: [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'dense', units: 2, activation: 'tanh' }],
    decoder: [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'dense', units: 8, activation: 'sigmoid' }],
    ...extra,
  };
}

function setup(loss = meanSquaredError) {
  const backend = createReferenceBackend();
  const ae = autoencoderFromSpec(spec(), loss, scope);
  const store = new ParameterStore(ae, backend);
  store.initialize(new Random(5));
  const rng = new Random(6);
  const x = new Tensor([4, 8], new Float32Array(32).map(() => rng.next()));
  return { ae, store, backend, batch: { x, y: x, count: 4 }, ctx: { backend, training: true, rng: new Random(1) } };
}

describe('autoencoder', () => {
  it('extras.squaredError = Σ over samples and pixels of (reconstruction − input)², and predict returns the reconstruction', () => {
    const { ae, batch, ctx } = setup();
    const stats = ae.evaluateBatch(batch, ctx);
    const reconstruction = ae.predict(batch.x, ctx);
    expect(reconstruction.shape).toEqual([4, 8]);
    let expected = 0;
    for (let i = 0; i < 32; i++) expected += (reconstruction.data[i]! - batch.x.data[i]!) ** 2;
    expect(stats.extras['squaredError']).toBeCloseTo(expected, 9);
    // With mse (per-sample mean over the 8 pixels) the loss sum is exactly squaredError / 8.
    expect(stats.lossSum).toBeCloseTo(expected / 8, 6);
    expect(stats.count).toBe(4);
  });

  it('trainBatch writes ∂(loss sum)/∂θ for encoder and decoder (finite differences); evaluateBatch writes no slots', () => {
    const { ae, store, batch, ctx } = setup(binaryCrossEntropy(false));
    ae.trainBatch(batch, ctx);
    const analytic = Float64Array.from(store.slots.data);
    store.slots.data.fill(9);
    const result = checkGradient(() => ae.evaluateBatch(batch, ctx).lossSum, store.values.data, analytic, {}, 'autoencoder params');
    expect(result.passed, describeResult(result)).toBe(true);
    expect(store.slots.data.every((v) => v === 9)).toBe(true);
    // Negative control: the same check fails on the gradient with one decoder element 1% off.
    let at = ae.encoder.parameterCount;
    for (let i = at; i < analytic.length; i++) if (Math.abs(analytic[i]!) > Math.abs(analytic[at]!)) at = i;
    analytic[at] = analytic[at]! * 1.01;
    expect(checkGradient(() => ae.evaluateBatch(batch, ctx).lossSum, store.values.data, analytic, {}, 'tampered').passed).toBe(false);
  });

  it('lays parameters out encoder first, then decoder; the decoder numbers its layers after the encoder', () => {
    const { ae, store } = setup();
    expect(ae.layers.map((l) => l.name)).toEqual(['dense_0', 'dense_1', 'dense_2', 'dense_3']);
    expect(ae.codeShape).toEqual([2]);
    expect(store.entries.find((e) => e.layer === 'dense_2')!.offset).toBe(ae.encoder.parameterCount);
    expect(ae.parameterCount).toBe(8 * 5 + 5 + 5 * 2 + 2 + 2 * 5 + 5 + 5 * 8 + 8);
  });

  it('a decoder that does not rebuild inputShape is a ConfigError at model.decoder with the fix', () => {
    let error: unknown;
    try {
      autoencoderFromSpec(spec({ decoder: [{ type: 'dense', units: 7 }] }), meanSquaredError, scope);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('model.decoder');
    expect((error as ConfigError).message).toMatch(/\[8\].*\[7\].*units 8/);
    expect(() => autoencoderFromSpec(spec({ layers: [] }), meanSquaredError, scope)).toThrow(/model\.layers.*not a known option/);
  });
});
