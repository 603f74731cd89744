import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../shared/src/config/validate.js';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { ConfigError, PreflightError } from '../../../shared/src/errors.js';

const base: JsonObject = {
  dataset: 'mnist',
  model: { inputShape: [784], layers: [{ type: 'dense', units: 10 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam' },
};

const messageOf = (json: unknown): string => {
  try {
    parseRunConfig(json, { file: 'run.json' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('parseRunConfig', () => {
  it('fills in the defaults of training and backend', () => {
    const config = parseRunConfig({ ...base, $schema: '../schema/run-config.schema.json' });
    expect(config.name).toBe('run');
    expect(config.seed).toBe(42);
    expect(config.training).toEqual({
      epochs: 5, batchSize: 64, validationSplit: 0, dropLast: false, microBatch: 32,
      clipNorm: undefined, clipValue: undefined, earlyStopping: undefined, checkpointEverySteps: undefined, allreduce: { transport: 'direct', linkEncryption: 'none', compression: 'none', overlap: true, bucketBytes: 524288 },
    });
    expect(Object.keys(config.training)).toContain('clipNorm');
    expect(config.backend).toEqual({ type: 'native', threads: undefined });
    expect(config.model).toBe(base['model']);
  });

  it('training.allreduce.transport is "direct" (default) or "nats"; anything else is refused naming the field and value', () => {
    expect(parseRunConfig({ ...base, training: { allreduce: { transport: 'nats' } } }).training.allreduce.transport).toBe('nats');
    expect(parseRunConfig({ ...base, training: { allreduce: { compression: 'bf16' } } }).training.allreduce.transport).toBe('direct');
    expect(messageOf({ ...base, training: { allreduce: { transport: 'tcp' } } })).toContain('training.allreduce.transport: must be one of nats, direct (got "tcp")');
  });

  it('training.allreduce.linkEncryption is "none" (default) or "tls", and "tls" only for direct links (NATS has its own TLS)', () => {
    expect(parseRunConfig({ ...base, training: { allreduce: { linkEncryption: 'tls' } } }).training.allreduce.linkEncryption).toBe('tls');
    expect(messageOf({ ...base, training: { allreduce: { linkEncryption: 'ssl' } } })).toContain('training.allreduce.linkEncryption: must be one of none, tls (got "ssl")');
    expect(messageOf({ ...base, training: { allreduce: { transport: 'nats', linkEncryption: 'tls' } } })).toContain('training.allreduce.linkEncryption: encrypts direct links; with transport "nats"');
  });

  it('reads the shorthand forms of backend and earlyStopping', () => {
    expect(parseRunConfig({ ...base, backend: 'reference' }).backend).toEqual({ type: 'reference', threads: undefined });
    expect(parseRunConfig({ ...base, backend: { threads: 3 } }).backend).toEqual({ type: 'native', threads: 3 });
    expect(parseRunConfig({ ...base, training: { earlyStopping: true } }).training.earlyStopping).toEqual({
      monitor: 'valLoss', patience: 2, minDelta: 0, restoreBestWeights: true,
    });
    expect(parseRunConfig({ ...base, training: { earlyStopping: false } }).training.earlyStopping).toBeUndefined();
  });

  it('names the file, the field path and the value in one line', () => {
    const cases: [unknown, string][] = [
      [{ ...base, training: { batchSize: -4 } }, 'run.json: training.batchSize: must be ≥ 1 (got -4)'],
      [{ ...base, training: { epochs: 'five' } }, 'run.json: training.epochs: must be a finite number (got "five")'],
      [{ ...base, training: { epochs: 2.5 } }, 'run.json: training.epochs: must be an integer (got 2.5)'],
      [{ ...base, trainig: {} }, 'run.json: trainig: is not a known option (did you mean "training"? allowed: $schema, name, description, seed, task, dataset, model, loss, optimizer, schedule, training, backend)'],
      [{ ...base, model: { inputShape: [784], layers: [{ type: 'dense', units: 10 }, { type: 'dense', units: 0 }] } }, 'run.json: model.layers[1].units: must be ≥ 1 (got 0)'],
      [{ ...base, model: { inputShape: [784], layers: [{ type: 'dense', unit: 10 }] } }, 'run.json: model.layers[0].unit: is not a known option (did you mean "units"? allowed: type, name, units, activation, alpha, useBias, kernelInitializer, biasInitializer, kernelRegularizer)'],
      [{ ...base, dataset: undefined }, 'run.json: dataset: is required'],
      [{ ...base, backend: { type: 'gpu' } }, 'run.json: backend.type: must be one of reference, pool, native (got "gpu")'],
      [{ ...base, backend: 7 }, 'run.json: backend: must be "reference", "pool", "native" or an object (got 7)'],
      [{ ...base, training: { earlyStopping: { monitor: 'acc' } } }, 'run.json: training.earlyStopping.monitor: must be one of valLoss, valAccuracy (got "acc")'],
      // One naming scheme (Note [one naming scheme]): Keras' val_loss is refused with the name gradmesh prints.
      [{ ...base, training: { earlyStopping: { monitor: 'val_loss' } } }, 'run.json: training.earlyStopping.monitor: is Keras\' name; gradmesh prints and reports it as valLoss (got "val_loss") (write "monitor": "valLoss")'],
      [{ ...base, task: 'ranking' }, 'run.json: task: must be one of classification, regression (got "ranking")'],
      [{ ...base, schedule: { type: 'cosine', decaySteps: 'all' } }, 'run.json: schedule.decaySteps: must be a positive integer or "run" (got "all")'],
      [{ ...base, optimizer: { type: 'adamm' } }, 'run.json: optimizer.type: is not a known optimizer (got "adamm") (did you mean "adam"? known: sgd, adam, adamw, adagrad, rmsprop)'],
      [{ ...base, model: { kind: 'gan', inputShape: [1] } }, 'run.json: model.kind: must be one of sequential, autoencoder, vae (got "gan")'],
      [[], 'run.json: (root): must be a JSON object (got [])'],
    ];
    for (const [json, message] of cases) expect(messageOf(json)).toBe(message);
  });

  it('lists every problem of a config at once, one line each, with "did you mean" for misspelt names', () => {
    let thrown: unknown;
    try {
      parseRunConfig({ ...base, trainig: {}, loss: 'softmaxCrossEntropi', model: { inputShape: [784], layers: [{ type: 'dens', units: 10 }, { type: 'dense', unit: 3 }] }, backend: { type: 'gpu' } }, { file: 'run.json' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PreflightError);
    expect(thrown).toBeInstanceOf(ConfigError);
    const lines = (thrown as PreflightError).problems.map((p) => p.message);
    expect(lines).toEqual(expect.arrayContaining([
      'run.json: trainig: is not a known option (did you mean "training"? allowed: $schema, name, description, seed, task, dataset, model, loss, optimizer, schedule, training, backend)',
      'run.json: model.layers[1].unit: is not a known option (did you mean "units"? allowed: type, name, units, activation, alpha, useBias, kernelInitializer, biasInitializer, kernelRegularizer)',
      'run.json: model.layers[0].type: is not a known layer type (got "dens") (did you mean "dense"? known: dense, conv2d, maxPool2d, avgPool2d, flatten, reshape, dropout, batchNorm, activation, simpleRnn, lstm, gru)',
      'run.json: loss: is not a known loss (got "softmaxCrossEntropi") (did you mean "softmaxCrossEntropy"? known: softmaxCrossEntropy, categoricalCrossEntropy, meanSquaredError, mse, meanAbsoluteError, mae, binaryCrossEntropy)',
      'run.json: backend.type: must be one of reference, pool, native (got "gpu")',
    ]));
    // The misspelt "unit" is the problem; the "units" it leaves missing is not listed besides it.
    expect(lines.some((l) => l.includes('units: is required'))).toBe(false);
    expect(lines).toHaveLength(5);
  });

  it('a misspelt tag or enum value whose message lists the choices gets "did you mean" too; a different word does not', () => {
    expect(messageOf({ ...base, schedule: { type: 'cosin' } })).toBe('run.json: schedule.type: must be one of constant, step, exponential, cosine (got "cosin") (did you mean "cosine"?)');
    expect(messageOf({ ...base, model: { kind: 'autoencodr', inputShape: [1] } })).toBe('run.json: model.kind: must be one of sequential, autoencoder, vae (got "autoencodr") (did you mean "autoencoder"?)');
    expect(messageOf({ ...base, training: { batchsize: 8 } })).toMatch(/training\.batchsize: is not a known option \(did you mean "batchSize"\?/);
    expect(messageOf({ ...base, model: { kind: 'gan', inputShape: [1] } })).not.toMatch(/did you mean/);
  });
});
