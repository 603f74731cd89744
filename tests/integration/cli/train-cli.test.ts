import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';
import type { CliRun } from '../../helpers/cli.js';

// These tests run the built CLI (`npm test` builds first).
let dir: string;

function gradmesh(...args: string[]): CliRun {
  return runGradmesh(dir, args);
}

/** A tiny CSV classification set: label = which of 3 features is largest. */
function writeCsv(file: string, rows: number, seed: number): void {
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const v = [next(), next(), next()];
    lines.push(`${v.map((n) => n.toFixed(4)).join(',')},${v.indexOf(Math.max(...v))}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const goodConfig = {
  name: 'csv-mlp',
  seed: 3,
  dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
  model: { kind: 'sequential', inputShape: [3], layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.02 },
  training: { epochs: 3, batchSize: 16, validationSplit: 0.1 },
  backend: 'reference',
};

function writeConfig(name: string, config: unknown): string {
  writeFileSync(path.join(dir, name), JSON.stringify(config));
  return name;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-cli-'));
  writeCsv(path.join(dir, 'train.csv'), 400, 1);
  writeCsv(path.join(dir, 'test.csv'), 100, 2);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gradmesh train', () => {
  it('a NaN gradient injected at step 5 (GRADMESH_FAULT_NAN) is skipped and reported; --max-skipped 1 stops the run there with exit 2 naming the step and rank', () => {
    const config = writeConfig('nan.json', goodConfig);
    const ok = runGradmesh(dir, ['train', '--config', config, '--report', 'nan-report.json'], { GRADMESH_FAULT_NAN: '0:5' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/step 5 skipped: non-finite gradient on rank 0/);
    const report = JSON.parse(readFileSync(path.join(dir, 'nan-report.json'), 'utf8'));
    expect(report.skippedSteps).toBe(1);
    expect(report.skipped).toEqual([{ step: 5, ranks: [0] }]);
    expect(report.history.every((h: { trainLoss: number }) => Number.isFinite(h.trainLoss))).toBe(true);
    const stopped = runGradmesh(dir, ['train', '--config', config, '--max-skipped', '1'], { GRADMESH_FAULT_NAN: '0:5' });
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toMatch(/DivergenceError: training diverged: the gradient was not finite at 1 consecutive step, step 5 \(rank 0 at step 5\), and its update was skipped/);
    expect(gradmesh('train', '--config', config, '--max-skipped', 'some').stderr).toMatch(/--max-skipped: must be an integer ≥ 0/);
  });

  it('trains a CSV data set and writes a report with every contract field', () => {
    const r = gradmesh('train', '--config', writeConfig('good.json', goodConfig), '--report', 'out/report.json');
    expect(r.stderr).toMatch(/epoch 3\/3/);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(dir, 'out/report.json'), 'utf8'));
    for (const field of ['config', 'model', 'dataset', 'workers', 'epochs', 'steps', 'globalBatchSize', 'testAccuracy', 'testLoss', 'trainSamplesPerSec', 'wallSeconds', 'paramsChecksum', 'history']) {
      expect(report, field).toHaveProperty(field);
    }
    expect(report.workers).toBe(1);
    expect(report.epochs).toBe(3);
    expect(report.steps).toBe(3 * Math.ceil(360 / 16));
    expect(report.paramsChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(report.testAccuracy).toBeGreaterThan(0.6);
    expect(report.history).toHaveLength(3);
    expect(Object.keys(report.history[0]).sort()).toEqual(['epoch', 'seconds', 'trainAccuracy', 'trainLoss', 'valAccuracy', 'valLoss']);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown layer type', { ...goodConfig, model: { ...goodConfig.model, layers: [{ type: 'dense', units: 4 }, { type: 'denes', units: 3 }] } }, /model\.layers\[1\]\.type.*"denes"/],
    ['a Dense directly after a Conv2D', { ...goodConfig, model: { kind: 'sequential', inputShape: [3, 1, 1], layers: [{ type: 'conv2d', filters: 2, kernelSize: 1 }, { type: 'dense', units: 3 }] } }, /model\.layers\[1\].*flatten/i],
    ['a negative learning rate', { ...goodConfig, optimizer: { type: 'adam', learningRate: -0.1 } }, /optimizer\.learningRate.*-0\.1/],
    ['a missing data file', { ...goodConfig, dataset: { ...goodConfig.dataset, train: 'nope.csv' } }, /nope\.csv/],
    ['zero epochs', { ...goodConfig, training: { ...goodConfig.training, epochs: 0 } }, /training\.epochs.*0/],
  ];
  for (const [what, config, message] of bad) {
    it(`rejects ${what} with one line naming it, exit code 2, no stack trace, and leaves the old report untouched`, () => {
      const report = path.join(dir, 'keep.json');
      writeFileSync(report, '{"previous":true}\n');
      const configFile = writeConfig('bad.json', config);
      const before = readdirSync(dir).sort();
      const r = gradmesh('train', '--config', configFile, '--report', 'keep.json', '--checkpoint-dir', 'ckpt-bad');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(report, 'utf8')).toBe('{"previous":true}\n');
      expect(existsSync(path.join(dir, 'ckpt-bad'))).toBe(false);
      expect(readdirSync(dir).sort()).toEqual(before);
    });
  }

  it('--batch-size overrides training.batchSize (steps and the report follow it); a bad value is one line naming the flag, exit code 2', () => {
    const config = writeConfig('batch.json', { ...goodConfig, training: { ...goodConfig.training, epochs: 1 } });
    const r = gradmesh('train', '--config', config, '--batch-size', '40', '--report', 'batch-report.json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(dir, 'batch-report.json'), 'utf8'));
    expect(report.globalBatchSize).toBe(40);
    expect(report.steps).toBe(Math.ceil(360 / 40));
    for (const bad of ['0', 'many', '2.5']) {
      const b = gradmesh('train', '--config', config, '--batch-size', bad);
      expect(b.code).toBe(2);
      expect(b.stderr.trim().split('\n')).toHaveLength(1);
      expect(b.stderr).toMatch(/--batch-size/);
    }
  });

  it('refuses to resume from a checkpoint whose metadata is malformed: one line naming the file and the field, exit code 2', async () => {
    const config = writeConfig('resume.json', { ...goodConfig, training: { ...goodConfig.training, epochs: 1 } });
    expect(gradmesh('train', '--config', config, '--checkpoint-dir', 'ck-meta').code).toBe(0);
    const { readCheckpoint, writeCheckpointAtomic, latestCheckpoint } = await import('../../../shared/src/checkpoint/store.js');
    const file = (await latestCheckpoint(path.join(dir, 'ck-meta')))!.path;
    const contents = await readCheckpoint(file);
    await writeCheckpointAtomic(file, { ...contents, meta: { ...contents.meta, history: [{ epoch: 'one' }] } });
    const r = gradmesh('train', '--config', config, '--checkpoint-dir', 'ck-meta', '--resume');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(path.relative(dir, file));
    expect(r.stderr).toMatch(/CheckpointError: .*metadata field history\[0\]\.epoch: must be a finite number \(got "one"\)/);
  });

  it('rejects a config file that does not exist, naming the path', () => {
    const r = gradmesh('train', '--config', 'missing.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.json/);
  });

  it('prints a stack trace only with --verbose', () => {
    const r = gradmesh('train', '--config', writeConfig('bad2.json', { ...goodConfig, optimizer: { type: 'adam', learningRate: 0 } }), '--verbose');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('has --help on every subcommand', () => {
    const top = gradmesh('--help');
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]!);
    expect(commands).toContain('train');
    for (const c of commands) {
      const r = gradmesh(c, '--help');
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/Usage: gradmesh/);
    }
  });
});
