import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh, type CliRun } from '../../helpers/cli.js';

// Issue 17, "Every input checked before work starts": each new-user mistake ends in one clear line and exit 2
// before any work — no epoch printed, no file written, report and checkpoint locations untouched.
// These tests run the built CLI (`npm test` builds first).
let dir: string;

function writeCsv(file: string, rows: number, seed: number, labelOffset = 0): void {
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const v = [next(), next(), next()];
    lines.push(`${v.map((n) => n.toFixed(4)).join(',')},${v.indexOf(Math.max(...v)) + labelOffset}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const good = {
  name: 'csv-mlp',
  seed: 3,
  dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
  model: { kind: 'sequential', inputShape: [3], layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.02 },
  training: { epochs: 1, batchSize: 16 },
  backend: 'reference',
};

function writeConfig(name: string, config: unknown): string {
  writeFileSync(path.join(dir, name), JSON.stringify(config));
  return name;
}

/** Every path under `dir` with its size and mtime: a file written, created or touched shows up as a difference. */
function snapshot(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const s = statSync(p);
      out.push(`${path.relative(dir, p)} ${s.isDirectory() ? 'dir' : `${s.size} ${s.mtimeMs}`}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Runs gradmesh and checks the refusal: exit 2, exactly one stderr line matching `line`, no training, nothing written. */
function refused(args: string[], line: RegExp): CliRun {
  const before = snapshot();
  const r = runGradmesh(dir, args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.stderr).not.toMatch(/epoch|Total params/);
  expect(snapshot()).toEqual(before);
  return r;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-preflight-cli-'));
  writeCsv(path.join(dir, 'train.csv'), 300, 1);
  writeCsv(path.join(dir, 'test.csv'), 60, 2);
  writeCsv(path.join(dir, 'train1.csv'), 300, 1, 1);
  writeCsv(path.join(dir, 'test1.csv'), 60, 2, 1);
  mkdirSync(path.join(dir, 'reports'));
  writeFileSync(path.join(dir, 'a-file'), 'not a directory');
  writeConfig('good.json', good);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gradmesh train refuses each new-user mistake before any work', () => {
  it('a first-layer inputShape that does not match the data names both shapes', () => {
    const config = writeConfig('input.json', { ...good, model: { ...good.model, inputShape: [4] } });
    refused(['train', '--config', config], /^gradmesh: ConfigError: input\.json: model\.inputShape: is \[4\] \(4 values per sample\) but the samples of .*train\.csv have shape \[3\] \(3 values\)/);
  });

  it('a last layer whose units do not match the classes names both numbers', () => {
    const config = writeConfig('units.json', { ...good, model: { ...good.model, layers: [good.model.layers[0], { type: 'dense', units: 10 }] } });
    refused(['train', '--config', config], /^gradmesh: ConfigError: units\.json: model\.layers: the last layer has 10 units but the data has 3 classes/);
  });

  it('labels 1..3 get the hint that labels start at 1', () => {
    const config = writeConfig('labels1.json', { ...good, dataset: { ...good.dataset, train: 'train1.csv', test: 'test1.csv' } });
    refused(['train', '--config', config], /^gradmesh: DataError: .*train1\.csv: sample \d+: label 3 is outside 0\.\.2.*labels start at 1; gradmesh expects 0\.\.2/);
  });

  it('binaryCrossEntropy on a 3-class output is refused instead of training with no accuracy', () => {
    const config = writeConfig('bce.json', { ...good, loss: 'binaryCrossEntropy', model: { ...good.model, layers: [good.model.layers[0], { type: 'dense', units: 3, activation: 'sigmoid' }] } });
    refused(['train', '--config', config], /^gradmesh: ConfigError: bce\.json: loss: binaryCrossEntropy scores each of the 3 outputs as a separate yes\/no/);
  });

  it('--report naming a directory, or the config file itself, is refused (no temporary file left)', () => {
    refused(['train', '--config', 'good.json', '--report', 'reports'], /^gradmesh: ConfigError: --report: names an existing directory/);
    refused(['train', '--config', 'good.json', '--report', 'good.json'], /^gradmesh: ConfigError: --report: names the config file itself/);
  });

  it('--checkpoint-dir naming a file is refused', () => {
    refused(['train', '--config', 'good.json', '--checkpoint-dir', 'a-file'], /^gradmesh: ConfigError: --checkpoint-dir: names an existing file/);
  });

  it('--threads 1000 is refused with the bound and why', () => {
    refused(['train', '--config', 'good.json', '--backend', 'pool', '--threads', '1000'], /^gradmesh: ConfigError: --threads: must be an integer from 1 to \d+ \(got 1000\) \(each pool thread needs its own/);
  });

  it('a batch too large for the pool memory names training.batchSize and the estimate, not the arena', () => {
    writeCsv(path.join(dir, 'many.csv'), 700, 5);
    const config = writeConfig('batch.json', {
      ...good, backend: 'pool', dataset: { ...good.dataset, train: 'many.csv' },
      model: { ...good.model, layers: [{ type: 'dense', units: 100_000 }, { type: 'dense', units: 3 }] },
      training: { epochs: 1, batchSize: 600, microBatch: 1 },
    });
    const r = refused(['train', '--config', config], /^gradmesh: ConfigError: batch\.json: training\.batchSize: needs about \d+ MiB of gradient buffers: 600 micro-batches of 1 each/);
    expect(r.stderr).not.toMatch(/arena/);
  });

  it('a misspelt key, layer type and loss each get "did you mean", all listed together', () => {
    const config = writeConfig('typos.json', { ...good, trainig: {}, loss: 'softmaxCrossEntropi', model: { ...good.model, layers: [{ type: 'dens', units: 16 }, { type: 'dense', units: 3 }] } });
    const before = snapshot();
    const r = runGradmesh(dir, ['train', '--config', config]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^gradmesh: ConfigError: typos\.json: trainig: is not a known option \(did you mean "training"\?/);
    expect(lines[1]).toMatch(/^gradmesh: ConfigError: typos\.json: model\.layers\[0\]\.type: is not a known layer type \(got "dens"\) \(did you mean "dense"\?/);
    expect(lines[2]).toMatch(/^gradmesh: ConfigError: typos\.json: loss: is not a known loss \(got "softmaxCrossEntropi"\) \(did you mean "softmaxCrossEntropy"\?/);
    expect(lines[3]).toBe('gradmesh: 3 problems found before starting; nothing was run or written');
    expect(snapshot()).toEqual(before);
  });

  it('several problems of different kinds (paths, threads, model against data) are listed together, one line each', () => {
    const config = writeConfig('several.json', { ...good, model: { ...good.model, layers: [good.model.layers[0], { type: 'dense', units: 10 }] } });
    const before = snapshot();
    const r = runGradmesh(dir, ['train', '--config', config, '--backend', 'pool', '--threads', '1000', '--report', 'reports', '--checkpoint-dir', 'a-file']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/: ConfigError: (?:several\.json: )?(--[a-z-]+|model\.layers).*/, ': $1'))).toEqual([
      'gradmesh: --report', 'gradmesh: --checkpoint-dir', 'gradmesh: --threads', 'gradmesh: model.layers', 'gradmesh: 4 problems found before starting; nothing was run or written',
    ]);
    expect(snapshot()).toEqual(before);
  });

  it('the same config without the mistakes trains (negative control)', () => {
    const r = runGradmesh(dir, ['train', '--config', 'good.json', '--report', 'reports/out.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'reports/out.json'))).toBe(true);
  });
});

describe('gradmesh evaluate checks --report before it loads anything', () => {
  it('--report naming a directory is refused before the checkpoint is even opened', () => {
    refused(['evaluate', '--checkpoint', 'no-such-checkpoint', '--data', 'test.csv', '--report', 'reports'], /^gradmesh: ConfigError: --report: names an existing directory/);
  });
});

describe('gradmesh coordinator checks the whole config before it connects', () => {
  it('with --log-format json each problem is one JSON line, named by the variable that gave it', () => {
    const config = writeConfig('coordinator-json.json', { ...good, model: { ...good.model, layers: [good.model.layers[0], { type: 'dense', units: 10 }] } });
    const before = snapshot();
    const r = runGradmesh(dir, ['coordinator', '--nats', 'nats://127.0.0.1:1', '--config', config, '--log-format', 'json'], { GRADMESH_REPORT: 'reports' });
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { msg: string; event: string; code: string });
    expect(lines.map((l) => l.msg.replace(/^(gradmesh: \w+: [^:]+(?:: [^:]+)?):.*/, '$1'))).toEqual([
      'gradmesh: ConfigError: GRADMESH_REPORT',
      'gradmesh: ConfigError: coordinator-json.json: model.layers',
      'gradmesh: 2 problems found before starting; nothing was run or written',
    ]);
    expect(lines.every((l) => l.event === 'failed' && l.code === 'E_CONFIG')).toBe(true);
    expect(snapshot()).toEqual(before);
  });

  it('a data file that does not fit the model is refused with exit 2, without contacting NATS', () => {
    const config = writeConfig('coordinator-data.json', { ...good, dataset: { ...good.dataset, train: 'train1.csv', test: 'test1.csv' } });
    // Port 1 on loopback has no server: a coordinator that got as far as connecting would fail differently.
    refused(['coordinator', '--nats', 'nats://127.0.0.1:1', '--config', config, '--workers', '2'], /^gradmesh: DataError: .*train1\.csv: sample \d+: label 3 is outside 0\.\.2/);
  });
});

describe('gradmesh launch checks the whole config before any process starts', () => {
  /** A stand-in nats-server that records that it was started, then fails: any start is visible. */
  function fakeNatsServer(marker: string): string {
    const script = path.join(dir, 'fake-nats-server');
    writeFileSync(script, `#!/bin/sh\necho started >> "${marker}"\nexit 1\n`);
    chmodSync(script, 0o755);
    return script;
  }

  it('a typo or bad data file is refused with exit 2 and nats-server (hence no coordinator or worker) is never started', () => {
    const marker = path.join(os.tmpdir(), `gradmesh-fake-nats-${process.pid}-${Date.now()}`);
    const fake = fakeNatsServer(marker);
    try {
      const typo = writeConfig('launch-typo.json', { ...good, trainig: {} });
      const typoRun = runGradmesh(dir, ['launch', '--config', typo, '--workers', '2', '--nats-server', fake]);
      expect(typoRun.code, typoRun.stderr).toBe(2);
      expect(typoRun.stderr).toMatch(/trainig: is not a known option \(did you mean "training"\?/);
      const data = writeConfig('launch-data.json', { ...good, dataset: { ...good.dataset, train: 'train1.csv', test: 'test1.csv' } });
      const dataRun = runGradmesh(dir, ['launch', '--config', data, '--workers', '2', '--nats-server', fake]);
      expect(dataRun.code, dataRun.stderr).toBe(2);
      expect(dataRun.stderr).toMatch(/^gradmesh: DataError: .*train1\.csv: sample \d+: label 3 is outside 0\.\.2/);
      expect(dataRun.stderr).not.toMatch(/launch: nats-server|\[coordinator\]|\[w0\]/);
      expect(existsSync(marker)).toBe(false);
      // Negative control: with a good config, launch does start the (fake) server, and the marker appears.
      const control = runGradmesh(dir, ['launch', '--config', 'good.json', '--workers', '2', '--nats-server', fake]);
      expect(control.code).not.toBe(0);
      expect(existsSync(marker)).toBe(true);
    } finally {
      rmSync(marker, { force: true });
    }
  });
});
