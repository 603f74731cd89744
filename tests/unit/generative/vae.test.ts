import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../shared/src/config/validate.js';
import { ConfigError } from '../../../shared/src/errors.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { ParameterStore } from '../../../shared/src/model/parameters.js';
import { bernoulliLogitLoss, klDivergence, vaeFromSpec } from '../../../shared/src/model/vae.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { checkGradient, describe as describeResult } from '../../helpers/gradcheck.js';

const scope = { path: 'model' };

function tinySpec(extra: Partial<JsonObject> = {}): JsonObject {
  return {
    kind: 'vae',
    inputShape: [6],
    encoder: [{ type: 'dense', units: 5, activation: 'tanh' }],
    latentDim: 2,
    decoder: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 6 }],
    ...extra,
  };
}

/** A tiny VAE bound to flat buffers with N(0, 0.5²) weights, and a batch of pixels in [0, 1]. */
function tinyVae() {
  const backend = createReferenceBackend();
  const vae = vaeFromSpec(tinySpec(), scope);
  const values = new Float32Array(vae.parameterCount);
  const slots = new Float32Array(vae.parameterCount);
  const rng = new Random(4);
  for (let i = 0; i < values.length; i++) values[i] = 0.5 * rng.normal();
  vae.bind(values, slots);
  const x = new Tensor([3, 6], new Float32Array(18).map(() => rng.next()));
  const batch = { x, y: x, count: 3 };
  /** The noise ε is drawn from ctx.rng; a fresh generator with one seed repeats the same draw. */
  const ctx = (seed = 21, training = true) => ({ backend, training, rng: new Random(seed) });
  return { vae, values, slots, batch, ctx, backend };
}

describe('VAE KL term', () => {
  const t = (values: number[]) => Tensor.from([values.length], values);
  it('equals the closed form −½ Σ (1 + log σ² − μ² − σ²) on hand-picked values', () => {
    expect(klDivergence(t([0, 0, 0]), t([0, 0, 0]))).toBe(0); // the prior itself
    expect(klDivergence(t([1, 1, 1, 1]), t([0, 0, 0, 0]))).toBeCloseTo(2, 12); // μ = 1, σ² = 1: ½ per unit
    expect(klDivergence(t([-1]), t([0]))).toBeCloseTo(0.5, 12);
    expect(klDivergence(t([0]), t([1]))).toBeCloseTo((Math.E - 2) / 2, 6); // σ² = e
    expect(klDivergence(t([0]), t([-1]))).toBeCloseTo(1 / (2 * Math.E), 6); // σ² = 1/e: −½(1 − 1 − e⁻¹)
    expect(klDivergence(t([2, 0]), t([0, Math.log(4)]))).toBeCloseTo(2 + (4 - 1 - Math.log(4)) / 2, 6);
  });

  it('is never negative (KL ≥ 0) over random means and variances', () => {
    const rng = new Random(9);
    for (let i = 0; i < 50; i++) {
      expect(klDivergence(t([rng.normal(), rng.normal()]), t([2 * rng.normal(), 2 * rng.normal()]))).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('VAE reconstruction term (Bernoulli from logits, summed over pixels)', () => {
  it('equals −Σ [t log σ(l) + (1 − t) log(1 − σ(l))] for moderate logits and sums, not averages, over pixels', () => {
    const logits = Tensor.from([2, 3], [0.3, -1.2, 2, 0, 4, -0.5]);
    const targets = Tensor.from([2, 3], [1, 0, 0.5, 0.25, 1, 0]);
    let naive = 0;
    for (let i = 0; i < 6; i++) {
      const p = 1 / (1 + Math.exp(-logits.data[i]!));
      const t = targets.data[i]!;
      naive -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
    }
    expect(bernoulliLogitLoss(logits, targets, null, createReferenceBackend())).toBeCloseTo(naive, 5);
  });

  it('stays finite with gradient σ(l) − t at logits ±100, where the naive form overflows', () => {
    const d = Tensor.zeros([1, 2]);
    const loss = bernoulliLogitLoss(Tensor.from([1, 2], [100, -100]), Tensor.from([1, 2], [0, 1]), d, createReferenceBackend());
    expect(loss).toBeCloseTo(200, 3);
    expect(Array.from(d.data)).toEqual([1, -1]);
  });
});

describe('VAE network', () => {
  it('gradient of the loss sum through the sampling path matches finite differences with the noise draw held fixed', () => {
    const { vae, values, slots, batch, ctx } = tinyVae();
    vae.trainBatch(batch, ctx());
    const analytic = Float64Array.from(slots);
    const f = (): number => vae.evaluateBatch(batch, ctx()).lossSum;
    const result = checkGradient(f, values, analytic, {}, 'vae params');
    expect(result.passed, describeResult(result)).toBe(true);
    expect(result.checked).toBe(vae.parameterCount);
  });

  it('negative control: a gradient taken without sampling (ε = 0, i.e. at z = μ) fails against the sampled loss', () => {
    const { vae, values, slots, batch, ctx } = tinyVae();
    // Analytic gradient at ε = 0 (a generator that always returns 0 has no sampling path) …
    const zeroNoise = { ...ctx(), rng: Object.assign(new Random(1), { normal: () => 0 }) };
    vae.trainBatch(batch, zeroNoise);
    const analytic = Float64Array.from(slots);
    // … compared with finite differences of the real, sampled loss.
    const result = checkGradient(() => vae.evaluateBatch(batch, ctx()).lossSum, values, analytic, {}, 'vae params');
    expect(result.passed).toBe(false);
  });

  it('lossSum = reconstruction + kl (sums over the batch); evaluateBatch writes no slots', () => {
    const { vae, slots, batch, ctx } = tinyVae();
    slots.fill(7);
    const stats = vae.evaluateBatch(batch, ctx());
    expect(slots.every((v) => v === 7)).toBe(true);
    expect(stats.count).toBe(3);
    expect(stats.lossSum).toBeCloseTo(stats.extras['reconstruction']! + stats.extras['kl']!, 9);
    expect(stats.extras['kl']!).toBeGreaterThan(0);
    // Per image the reconstruction of 6 pixels is a SUM: it is well above one pixel's ~0.69.
    expect(stats.extras['reconstruction']! / 3).toBeGreaterThan(2);
  });

  it('binds parameters in the order encoder, mean head, log-variance head, decoder (the checksum order)', () => {
    const backend = createReferenceBackend();
    const vae = vaeFromSpec(tinySpec(), scope);
    expect(vae.layers.map((l) => l.name)).toEqual(['dense_0', 'zMean', 'zLogVariance', 'dense_1', 'dense_2']);
    const store = new ParameterStore(vae, backend);
    expect(store.entries.map((e) => `${e.layer}/${e.spec.name}@${e.offset}`)).toEqual([
      'dense_0/kernel@0', 'dense_0/bias@30', 'zMean/kernel@35', 'zMean/bias@45', 'zLogVariance/kernel@47', 'zLogVariance/bias@57',
      'dense_1/kernel@59', 'dense_1/bias@67', 'dense_2/kernel@71', 'dense_2/bias@95',
    ]);
    expect(vae.parameterCount).toBe(101);
    // The mean head really reads the values at its offset.
    store.values.data.fill(0);
    store.values.data[45] = 3; // zMean bias[0]
    const { mean, logVariance } = vae.encode(Tensor.zeros([1, 6]), { backend, training: false, rng: new Random(1) });
    expect(Array.from(mean.data)).toEqual([3, 0]);
    expect(Array.from(logVariance.data)).toEqual([0, 0]);
  });

  it('encode/decode/sample/predict: shapes, probabilities in (0, 1), sampling reproducible from the seed, predict deterministic', () => {
    const { vae, batch, ctx } = tinyVae();
    const { mean, logVariance } = vae.encode(batch.x, ctx());
    expect(mean.shape).toEqual([3, 2]);
    expect(logVariance.shape).toEqual([3, 2]);
    const samples = vae.sample(5, ctx(8));
    expect(samples.shape).toEqual([5, 6]);
    expect(samples.data.every((p) => p > 0 && p < 1)).toBe(true);
    expect(Array.from(vae.sample(5, ctx(8)).data)).toEqual(Array.from(samples.data));
    expect(Array.from(vae.sample(5, ctx(9)).data)).not.toEqual(Array.from(samples.data));
    expect(Array.from(vae.predict(batch.x, ctx(1, false)).data)).toEqual(Array.from(vae.predict(batch.x, ctx(2, false)).data));
    expect(Array.from(vae.predict(batch.x, ctx(1, false)).data)).toEqual(Array.from(vae.decode(mean, ctx(3, false)).data));
  });

  it('spec errors name the field: decoder output shape, decoder ending in an activation, latentDim', () => {
    expect(() => vaeFromSpec(tinySpec({ decoder: [{ type: 'dense', units: 5 }] }), scope)).toThrow(/model\.decoder: must output the input shape \[6\] but outputs \[5\]/);
    expect(() => vaeFromSpec(tinySpec({ decoder: [{ type: 'dense', units: 6, activation: 'sigmoid' }] }), scope)).toThrow(/model\.decoder\[0\]\.activation.*logits/);
    expect(() => vaeFromSpec(tinySpec({ latentDim: 0 }), scope)).toThrow(/model\.latentDim/);
    expect(() => vaeFromSpec(tinySpec({ latent: 2 }), scope)).toThrow(ConfigError);
  });
});
