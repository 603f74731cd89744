import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { loadMnist } from '../../../shared/src/data/mnist.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import { syntheticClassification } from '../../helpers/synthetic.js';

describe('fit / evaluate / predict', () => {
  it('an MLP trained briefly on real MNIST reaches test accuracy far above chance (10%)', async () => {
    const { train, test } = loadMnist();
    const config = parseRunConfig({
      seed: 1,
      dataset: 'mnist',
      model: { kind: 'sequential', inputShape: [784], layers: [{ type: 'dense', units: 32, activation: 'relu' }, { type: 'dense', units: 10 }] },
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'adam', learningRate: 0.003 },
      training: { epochs: 1, batchSize: 64 },
      backend: 'reference',
    });
    const model = await createModel(config);
    await model.fit(train.slice(0, 6400));
    const result = await model.evaluate(test.slice(0, 2000), { confusion: true });
    expect(result.accuracy).toBeGreaterThan(0.8);
    expect(result.confusion!.toJSON().total).toBe(2000);
    const probabilities = await model.predict(test.slice(0, 5));
    expect(probabilities.shape).toEqual([5, 10]);
    for (let r = 0; r < 5; r++) {
      const row = probabilities.data.subarray(r * 10, r * 10 + 10);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('the same config and seed give bit-identical parameters twice', async () => {
    const data = syntheticClassification(96, 6, 3, 9);
    const config = parseRunConfig({
      seed: 11,
      dataset: 'mnist',
      model: { kind: 'sequential', inputShape: [36], layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 3 }] },
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true },
      training: { epochs: 2, batchSize: 10 },
      backend: 'reference',
    });
    const a = await createModel(config);
    const b = await createModel(config);
    await a.fit(data);
    await b.fit(data);
    expect(a.params.checksum()).toBe(b.params.checksum());
  });

  it('early stopping stops once validation loss stops improving for `patience` epochs and restores the best weights', async () => {
    const data = syntheticClassification(120, 6, 3, 4);
    const config = parseRunConfig({
      seed: 2,
      dataset: 'mnist',
      model: { kind: 'sequential', inputShape: [36], layers: [{ type: 'dense', units: 64, activation: 'relu' }, { type: 'dense', units: 3 }] },
      loss: 'softmaxCrossEntropy',
      // A learning rate this high makes validation loss bounce, so the monitor must trigger.
      optimizer: { type: 'sgd', learningRate: 2.5 },
      training: { epochs: 30, batchSize: 8, validationSplit: 0.25, earlyStopping: { monitor: 'valLoss', patience: 1, restoreBestWeights: true } },
      backend: 'reference',
    });
    const model = await createModel(config);
    const { history } = await model.fit(data);
    expect(history.length).toBeLessThan(30);
    const best = model.state.earlyStopping!.bestEpoch;
    expect(history.length - 1 - best).toBe(1); // stopped `patience` epochs after the best
    const { validation } = data.split(0.25);
    const evaluation = await model.evaluate(validation);
    expect(evaluation.loss).toBeCloseTo(history[best]!.valLoss!, 5);
  });
});
