import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeEvaluations } from '../../../coordinator/src/aggregate.js';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { datasetFromConfig } from '../../../shared/src/data/source.js';
import { ConfigError } from '../../../shared/src/errors.js';
import { regressionMetrics } from '../../../shared/src/losses/regression-metrics.js';
import { Random } from '../../../shared/src/random.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import { evaluateSamples } from '../../../shared/src/train/evaluation.js';
import type { EvaluatedBody } from '../../../shared/src/protocol/messages.js';
import { tempDir, type TempDir } from '../data/fixtures.js';

/** y = 2a − 3b + 0.5 + noise(σ = noise), features uniform in [−1, 1]; `shuffle` breaks the link between features and targets. */
function linearCsv(rows: number, seed: number, noise: number, shuffle = false): string {
  const rng = new Random(seed);
  const samples = Array.from({ length: rows }, () => {
    const a = 2 * rng.next() - 1;
    const b = 2 * rng.next() - 1;
    return { a, b, y: 2 * a - 3 * b + 0.5 + noise * rng.normal() };
  });
  if (shuffle) {
    const ys = samples.map((s) => s.y);
    for (let i = ys.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ys[i], ys[j]] = [ys[j]!, ys[i]!];
    }
    samples.forEach((s, i) => (s.y = ys[i]!));
  }
  return `a,b,y\n${samples.map((s) => `${s.a.toFixed(5)},${s.b.toFixed(5)},${s.y.toFixed(5)}`).join('\n')}\n`;
}

const config = (overrides: Record<string, unknown> = {}) => ({
  seed: 3,
  task: 'regression',
  dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'y' },
  model: { kind: 'sequential', inputShape: [2], layers: [{ type: 'dense', units: 1 }] },
  loss: 'meanSquaredError',
  optimizer: { type: 'adam', learningRate: 0.05 },
  training: { epochs: 30, batchSize: 16 },
  backend: 'reference',
  ...overrides,
});

describe('regression on a CSV target column', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  async function trainOn(trainCsv: string, testCsv: string, overrides: Record<string, unknown> = {}) {
    dir.write('train.csv', trainCsv);
    dir.write('test.csv', testCsv);
    const run = parseRunConfig(config(overrides), { file: `${dir.path}/run.json`, baseDir: dir.path });
    const data = datasetFromConfig(run.dataset, { path: 'dataset' }, run.baseDir, { task: run.task });
    const model = await createModel(run);
    await model.fit(data.train);
    return { model, data };
  }

  it('a linear model learns a noisy linear target: R² > 0.99 on held-out rows, RMSE near the noise level, no accuracy', async () => {
    const { model, data } = await trainOn(linearCsv(400, 1, 0.05), linearCsv(200, 2, 0.05));
    const test = await model.evaluate(data.test, { confusion: true });
    expect(test.accuracy).toBeNull();
    expect(test.confusion).toBeNull();
    expect(test.regression!.r2).toBeGreaterThan(0.99);
    expect(test.regression!.rmse).toBeLessThan(0.1);
    // The loss is MSE, so it is RMSE²; MAE ≤ RMSE always.
    expect(test.loss).toBeCloseTo(test.regression!.rmse ** 2, 6);
    expect(test.regression!.mae).toBeLessThanOrEqual(test.regression!.rmse);
    await model.close();
  });

  it('negative control: with targets shuffled against the features, the same training gives R² near 0, not > 0.99', async () => {
    const { model, data } = await trainOn(linearCsv(400, 1, 0.05, true), linearCsv(200, 2, 0.05, true));
    const test = await model.evaluate(data.test);
    expect(test.regression!.r2!).toBeLessThan(0.3);
    await model.close();
  });

  it('meanAbsoluteError trains the same model too (R² > 0.99)', async () => {
    const { model, data } = await trainOn(linearCsv(400, 1, 0.05), linearCsv(200, 2, 0.05), { loss: 'meanAbsoluteError', training: { epochs: 40, batchSize: 16 } });
    expect((await model.evaluate(data.test)).regression!.r2).toBeGreaterThan(0.99);
    await model.close();
  });

  it('MAE, RMSE and R² equal the textbook formulas over the predictions, and shards merged in rank order (the cluster path) give the same figures', async () => {
    const { model, data } = await trainOn(linearCsv(200, 5, 0.3), linearCsv(101, 6, 0.3), { training: { epochs: 3, batchSize: 16 } });
    const whole = await model.evaluate(data.test);
    const predicted = (await model.predict(data.test)).data;
    let abs = 0, sq = 0, mean = 0;
    for (let i = 0; i < data.test.count; i++) mean += data.test.targetAt(i) / data.test.count;
    let total = 0;
    for (let i = 0; i < data.test.count; i++) {
      const t = data.test.targetAt(i);
      abs += Math.abs(predicted[i]! - t);
      sq += (predicted[i]! - t) ** 2;
      total += (t - mean) ** 2;
    }
    expect(whole.regression!.mae).toBeCloseTo(abs / data.test.count, 6);
    expect(whole.regression!.rmse).toBeCloseTo(Math.sqrt(sq / data.test.count), 6);
    expect(whole.regression!.r2!).toBeCloseTo(1 - sq / total, 6);

    // Three ranks' contiguous shards, as workers reply them (their arrival order shuffled).
    const bounds = [0, 34, 68, 101];
    const replies: EvaluatedBody[] = [];
    for (let rank = 0; rank < 3; rank++) {
      const stats = await evaluateSamples(model.executor, data.test, bounds[rank]!, bounds[rank + 1]!, { confusion: true });
      replies.push({ requestId: 1, rank, lossSum: stats.lossSum, count: stats.count, extras: stats.extras });
    }
    const merged = mergeEvaluations([replies[2]!, replies[0]!, replies[1]!], 1);
    expect(merged.count).toBe(101);
    expect(merged.regression!.mae).toBeCloseTo(whole.regression!.mae, 12);
    expect(merged.regression!.rmse).toBeCloseTo(whole.regression!.rmse, 12);
    expect(merged.regression!.r2!).toBeCloseTo(whole.regression!.r2!, 12);
    await model.close();
  });

  it('R² is null (not NaN) when the targets do not vary', () => {
    expect(regressionMetrics({ absoluteError: 0.5, squaredError: 0.25, target: 2, targetSquared: 4 })).toEqual({ mae: 0.5, rmse: 0.5, r2: null });
  });

  it('refuses a regression config that cannot work before any data is read: a cross-entropy loss, MNIST, an autoencoder', () => {
    const refused = (c: Record<string, unknown>) => {
      try {
        parseRunConfig(c);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error('accepted');
    };
    expect(refused(config({ loss: 'softmaxCrossEntropy' }))).toMatch(/^loss: "softmaxCrossEntropy" does not fit for "task": "regression".*/);
    expect(refused(config({ dataset: 'mnist' }))).toMatch(/^task: is "regression" but dataset is "mnist"/);
    expect(refused(config({ model: { kind: 'autoencoder', inputShape: [2], encoder: [{ type: 'dense', units: 1 }], decoder: [{ type: 'dense', units: 2 }] } }))).toMatch(/^task: .*autoencoder/);
    expect(refused(config({ task: 'regresion' }))).toMatch(/^task:/);
  });

  it('a regression model whose last layer has 3 units is refused when it is built, naming the layer (not a loss shape error at step 1)', async () => {
    const run = parseRunConfig(config({ model: { kind: 'sequential', inputShape: [2], layers: [{ type: 'dense', units: 3 }] } }));
    await expect(createModel(run)).rejects.toThrow(/^model\.layers\[0\]: outputs \[3\] per sample, but a regression model predicts one value/);
  });

  it('a regression label column must hold numbers, named by line', () => {
    dir.write('train.csv', 'a,b,y\n1,2,3\n4,5,high\n');
    dir.write('test.csv', 'a,b,y\n1,2,3\n');
    const run = parseRunConfig(config(), { file: `${dir.path}/run.json`, baseDir: dir.path });
    expect(() => datasetFromConfig(run.dataset, { path: 'dataset' }, run.baseDir, { task: 'regression' })).toThrow(/line 3: regression target "high" is not a number/);
  });
});
