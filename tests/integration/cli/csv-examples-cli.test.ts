import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';

// These tests run the built CLI (`npm test` builds first) on the examples shipped in examples/.
const root = path.resolve(__dirname, '../../..');
const example = (name: string) => path.join(root, 'examples', name);
const irisTest = path.join(root, 'examples/data/iris-test.csv');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-csv-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gradmesh = (...args: string[]) => runGradmesh(dir, args);
const json = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;

describe('gradmesh --version', () => {
  it('--version and -V print the version of package.json and exit 0', () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = gradmesh(flag);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`gradmesh ${version}\n`);
    }
  });
});

describe('examples/iris.json: string class labels from a real data set', () => {
  it('trains to ≥ 0.9 test accuracy; the report names the classes, the version and the config; predict prints the names', () => {
    const r = gradmesh('train', '--config', example('iris.json'), '--report', 'iris.json', '--checkpoint-dir', 'ck-iris');
    expect(r.code, r.stderr).toBe(0);
    // One naming scheme: the epoch lines use the report's (and config's) names.
    expect(r.stderr).toMatch(/epoch 1\/\d+ {2}trainLoss [\d.]+ {2}trainAccuracy [\d.]+% {2}valLoss [\d.]+ {2}valAccuracy/);
    expect(r.stderr).not.toMatch(/val_loss|val_acc/);
    expect(r.stderr).toContain('setosa'); // the confusion matrix is labelled with the names
    const report = json('iris.json');
    expect(report['testAccuracy']).toBeGreaterThanOrEqual(0.9);
    expect(report['classNames']).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(report['gradmeshVersion']).toMatch(/^\d+\.\d+\.\d+/);
    expect(report['configPath']).toBe(example('iris.json'));
    const history = report['history'] as { trainAccuracy: number | null }[];
    expect(history.every((h) => typeof h.trainAccuracy === 'number')).toBe(true);

    const p = gradmesh('predict', '--checkpoint', 'ck-iris', '--data', irisTest, '--top', '2', '--out', 'preds.csv');
    expect(p.code, p.stderr).toBe(0);
    const lines = readFileSync(path.join(dir, 'preds.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('index,class,class_name,probability,class_2,class_name_2,probability_2,label,label_name');
    expect(lines).toHaveLength(31);
    expect(lines[1]).toMatch(/^0,0,setosa,[\d.]+,\d,(versicolor|virginica),[\d.e-]+,0,setosa$/);
    expect(p.stdout).toMatch(/predicted classes: setosa: \d+, versicolor: \d+, virginica: \d+/);

    const e = gradmesh('evaluate', '--checkpoint', 'ck-iris', '--data', irisTest, '--report', 'eval.json');
    expect(e.code, e.stderr).toBe(0);
    expect(json('eval.json')).toMatchObject({ classNames: ['setosa', 'versicolor', 'virginica'], testAccuracy: report['testAccuracy'] });
  });

  it('--quiet prints no progress, banner or confusion matrix — only the result line', () => {
    const r = gradmesh('train', '--config', example('iris.json'), '--epochs', '2', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^test accuracy [\d.]+% {2}test loss [\d.]+ {2}— {2}\d+ steps.*\n$/);
  });
});

describe('examples/iris-petal-width.json: regression', () => {
  it('reports test MAE, RMSE and R² (no accuracy) in train and in evaluate, and predict prints values', () => {
    const r = gradmesh('train', '--config', example('iris-petal-width.json'), '--report', 'petal.json', '--checkpoint-dir', 'ck-petal');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test MAE [\d.]+ {2}RMSE [\d.]+ {2}R² 0\.\d{4}/);
    const report = json('petal.json');
    expect(report['task']).toBe('regression');
    expect(report['testAccuracy']).toBeNull();
    expect(report['testR2']).toBeGreaterThan(0.85);
    expect(report['testRmse']).toBeCloseTo(Math.sqrt(report['testLoss'] as number), 6);
    expect(report).not.toHaveProperty('confusionMatrix');

    const e = gradmesh('evaluate', '--checkpoint', 'ck-petal', '--data', irisTest, '--report', 'petal-eval.json');
    expect(e.code, e.stderr).toBe(0);
    const evaluation = json('petal-eval.json');
    for (const k of ['testMae', 'testRmse', 'testR2']) expect(evaluation[k] as number).toBeCloseTo(report[k] as number, 5);

    const p = gradmesh('predict', '--checkpoint', 'ck-petal', '--data', irisTest);
    expect(p.code, p.stderr).toBe(0);
    const lines = p.stdout.trim().split('\n');
    expect(lines[0]).toBe('index,prediction,target');
    expect(lines[1]).toMatch(/^0,-?[\d.]+,0\.2$/);
    expect(p.stderr).toMatch(/mean absolute error against the data's targets: [\d.]+/);
  });
});
