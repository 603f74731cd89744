import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, PreflightError } from '../../../shared/src/errors.js';
import { parseRunConfig, type RunConfig } from '../../../shared/src/config/run-config.js';
import { buildNetwork } from '../../../shared/src/model/build.js';
import { poolLayout } from '../../../shared/src/kernels/pool/layout.js';
import { closestName, editDistance } from '../../../shared/src/preflight/did-you-mean.js';
import { checkLossAgainstOutput } from '../../../shared/src/preflight/loss-vs-output.js';
import { checkBatchMemory, estimatePoolMemory } from '../../../shared/src/preflight/memory.js';
import { checkCheckpointDir, checkReportPath } from '../../../shared/src/preflight/paths.js';
import { preflightRun } from '../../../shared/src/preflight/preflight.js';
import { checkThreads, MAX_THREADS } from '../../../shared/src/preflight/threads.js';
import { tempDir, type TempDir } from '../data/fixtures.js';

let dir: TempDir;
beforeAll(() => {
  dir = tempDir();
  dir.write('train.csv', 'a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n0.7,0.8,1\n');
});
afterAll(() => dir.remove());

function config(overrides: Record<string, unknown> = {}): RunConfig {
  return parseRunConfig({
    dataset: { format: 'csv', train: 'train.csv', test: 'train.csv', labelColumn: 'label' },
    model: { inputShape: [2], layers: [{ type: 'dense', units: 3 }] },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.01 },
    backend: 'reference',
    ...overrides,
  }, { file: path.join(dir.path, 'run.json'), baseDir: dir.path });
}

describe('did you mean', () => {
  it('suggests the known name within a third of its length in edits, and nothing for a different word', () => {
    expect(closestName('dens', ['dense', 'conv2d'])).toBe('dense');
    expect(closestName('trainig', ['training', 'seed'])).toBe('training');
    expect(closestName('batchsize', ['batchSize', 'epochs'])).toBe('batchSize');
    expect(closestName('softmaxCrossEntropi', ['softmaxCrossEntropy', 'mse'])).toBe('softmaxCrossEntropy');
    expect(closestName('foo', ['dense', 'conv2d'])).toBeUndefined();
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('threads', () => {
  it('the bound is what the pool memory layout holds: MAX_THREADS threads lay out, one more does not', () => {
    expect(() => poolLayout(MAX_THREADS, 1024 * 1024)).not.toThrow();
    expect(() => poolLayout(MAX_THREADS + 1, 1024 * 1024)).toThrow();
    expect(() => checkThreads(MAX_THREADS, '--threads')).not.toThrow();
    expect(() => checkThreads(1, '--threads')).not.toThrow();
    expect(() => checkThreads(1000, '--threads')).toThrow(`--threads: must be an integer from 1 to ${MAX_THREADS} (got 1000)`);
    expect(() => checkThreads(0, 'GRADMESH_THREADS')).toThrow(/GRADMESH_THREADS: must be an integer from 1/);
  });
});

describe('output paths', () => {
  it('a report path naming a directory, the config itself, or under a file is refused; a new one is not created by the check', () => {
    mkdirSync(path.join(dir.path, 'reports'), { recursive: true });
    const configFile = dir.write('config.json', '{}');
    expect(() => checkReportPath(path.join(dir.path, 'reports'), '--report', configFile)).toThrow(/--report: names an existing directory/);
    expect(() => checkReportPath(configFile, '--report', configFile)).toThrow(/--report: names the config file itself/);
    expect(() => checkReportPath(path.join(configFile, 'r.json'), '--report', configFile)).toThrow(/cannot be created: .*config\.json is a file/);
    const fresh = path.join(dir.path, 'new', 'deeper', 'report.json');
    expect(() => checkReportPath(fresh, '--report', configFile)).not.toThrow();
    expect(existsSync(path.join(dir.path, 'new'))).toBe(false);
  });

  it('a checkpoint dir naming an existing file is refused; an existing or missing directory is fine', () => {
    const file = dir.write('not-a-dir', 'x');
    expect(() => checkCheckpointDir(file, '--checkpoint-dir')).toThrow(/--checkpoint-dir: names an existing file; checkpoints go into a directory/);
    expect(() => checkCheckpointDir(dir.path, '--checkpoint-dir')).not.toThrow();
    expect(() => checkCheckpointDir(path.join(dir.path, 'ckpt'), '--checkpoint-dir')).not.toThrow();
    expect(existsSync(path.join(dir.path, 'ckpt'))).toBe(false);
  });
});

describe('loss against output', () => {
  const dense = (units: number, activation?: string) => ({ inputShape: [2], layers: [{ type: 'dense', units, ...(activation ? { activation } : {}) }] });

  it('refuses binaryCrossEntropy on a one-of-K classifier (K > 2), which trains towards no class', () => {
    expect(checkLossAgainstOutput(dense(10, 'sigmoid'), 'binaryCrossEntropy', 10)?.message).toMatch(/binaryCrossEntropy scores each of the 10 outputs as a separate yes\/no/);
  });

  it('refuses a softmax before a loss that takes logits, and a loss that takes probabilities after logits', () => {
    expect(checkLossAgainstOutput(dense(3, 'softmax'), 'softmaxCrossEntropy', 3)?.message).toMatch(/softmaxCrossEntropy takes logits, but the last layer applies softmax/);
    expect(checkLossAgainstOutput({ inputShape: [2], layers: [{ type: 'dense', units: 3 }, { type: 'activation', activation: 'softmax' }, { type: 'dropout', rate: 0.1 }] }, 'softmaxCrossEntropy', 3)?.message).toMatch(/applies softmax/);
    expect(checkLossAgainstOutput(dense(3), 'categoricalCrossEntropy', 3)?.message).toMatch(/categoricalCrossEntropy takes probabilities, but the last layer ends in linear/);
    expect(checkLossAgainstOutput(dense(2), 'binaryCrossEntropy', 2)?.message).toMatch(/binaryCrossEntropy takes probabilities, but the last layer ends in linear, not sigmoid/);
    expect(checkLossAgainstOutput(dense(2, 'sigmoid'), { type: 'binaryCrossEntropy', fromLogits: true }, 2)?.message).toMatch(/with fromLogits takes logits, but the last layer applies sigmoid/);
  });

  it('accepts the matching pairs (negative control)', () => {
    expect(checkLossAgainstOutput(dense(3), 'softmaxCrossEntropy', 3)).toBeUndefined();
    expect(checkLossAgainstOutput(dense(3, 'softmax'), 'categoricalCrossEntropy', 3)).toBeUndefined();
    expect(checkLossAgainstOutput(dense(3), { type: 'categoricalCrossEntropy', fromLogits: true }, 3)).toBeUndefined();
    expect(checkLossAgainstOutput(dense(2, 'sigmoid'), 'binaryCrossEntropy', 2)).toBeUndefined();
    expect(checkLossAgainstOutput(dense(3), 'mse', 3)).toBeUndefined();
  });
});

describe('batch memory', () => {
  it('counts parameters, update slots, Adam state, one slot buffer per extra micro-batch and the evaluation slots', () => {
    const c = config({ training: { batchSize: 64, microBatch: 16 } });
    const network = buildNetwork(c.model, c.loss, { path: '' });
    const estimate = estimatePoolMemory(network, c.optimizer, c.training, { trainCount: 1000, world: 1, threads: 1 });
    const weights = 2 * 3, bias = 3;
    const aligned = (floats: number) => Math.ceil((4 * floats) / 64) * 64;
    // values + slots, Adam's m and v per segment, 3 extra micro-batch buffers, evaluation slots.
    expect(estimate.microBatches).toBe(4);
    expect(estimate.persistentBytes).toBe(2 * aligned(9) + 2 * (aligned(weights) + aligned(bias)) + 3 * aligned(9) + aligned(9));
    // Two workers share a step: each holds half the micro-batches.
    expect(estimatePoolMemory(network, c.optimizer, c.training, { trainCount: 1000, world: 2, threads: 1 }).microBatches).toBe(2);
  });

  it('a batch whose gradient buffers exceed the 512 MiB arena is a ConfigError naming training.batchSize and the estimate; a smaller one passes', () => {
    const model = { inputShape: [2], layers: [{ type: 'dense', units: 100_000 }, { type: 'dense', units: 3 }] };
    const big = config({ model, training: { batchSize: 2000, microBatch: 1 } });
    const network = buildNetwork(big.model, big.loss, { path: '' });
    const tooBig = checkBatchMemory(estimatePoolMemory(network, big.optimizer, big.training, { trainCount: 5000, world: 1, threads: 1 }), big.training, 1);
    expect(tooBig).toBeInstanceOf(ConfigError);
    expect(tooBig?.message).toMatch(/^training\.batchSize: needs about \d+ MiB of gradient buffers: 2000 micro-batches of 1 each keep their own copy of the gradients, and the pool holds 512 MiB \(got 2000\)/);
    const small = config({ model, training: { batchSize: 100, microBatch: 1 } });
    expect(checkBatchMemory(estimatePoolMemory(network, small.optimizer, small.training, { trainCount: 5000, world: 1, threads: 1 }), small.training, 1)).toBeUndefined();
  });
});

describe('preflightRun', () => {
  it('lists every problem it finds together (paths, threads, model against data), one line each, and writes nothing', () => {
    mkdirSync(path.join(dir.path, 'a-dir'), { recursive: true });
    const before = readdirSync(dir.path).sort();
    let thrown: unknown;
    try {
      preflightRun({
        config: config({ model: { inputShape: [5], layers: [{ type: 'dense', units: 10 }] }, backend: 'pool' }),
        threads: { value: 1000, flag: '--threads' },
        report: { path: path.join(dir.path, 'a-dir'), flag: '--report' },
        checkpointDir: { path: path.join(dir.path, 'train.csv'), flag: '--checkpoint-dir' },
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PreflightError);
    const lines = (thrown as PreflightError).problems.map((p) => p.message);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^--report: names an existing directory/);
    expect(lines[1]).toMatch(/^--checkpoint-dir: names an existing file/);
    expect(lines[2]).toMatch(/^--threads: must be an integer from 1 to/);
    expect(lines[3]).toMatch(/^.*run\.json: model\.inputShape: is \[5\] \(5 values per sample\) but the samples of .*train\.csv have shape \[2\]/);
    expect(lines[4]).toMatch(/^.*run\.json: model\.layers: the last layer has 10 units but the data has 3 classes/);
    expect(readdirSync(dir.path).sort()).toEqual(before);
  });

  it('a run with no problem passes and returns its data (negative control)', () => {
    const { data, network } = preflightRun({ config: config() });
    expect(data.train.count).toBe(4);
    expect(network.outputShape).toEqual([3]);
  });
});
