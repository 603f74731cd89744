import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh, type CliRun } from '../../helpers/cli.js';

// These tests run the built CLI (`npm test` builds first): train a CSV classifier once, then use its checkpoints.
let dir: string;

function gradmesh(...args: string[]): CliRun {
  return runGradmesh(dir, args);
}

/** label = which of the 3 features is largest. */
function csvRows(rows: number, seed: number, withLabel: boolean): string {
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const lines = [withLabel ? 'a,b,c,label' : 'a,b,c'];
  for (let i = 0; i < rows; i++) {
    const v = [next(), next(), next()];
    lines.push(`${v.map((n) => n.toFixed(4)).join(',')}${withLabel ? `,${v.indexOf(Math.max(...v))}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

const config = {
  name: 'csv-mlp',
  seed: 3,
  dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
  model: { kind: 'sequential', inputShape: [3], layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'batchNorm' }, { type: 'dense', units: 3 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.02 },
  training: { epochs: 3, batchSize: 16 },
  backend: 'reference',
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-use-'));
  writeFileSync(path.join(dir, 'train.csv'), csvRows(400, 1, true));
  writeFileSync(path.join(dir, 'test.csv'), csvRows(100, 2, true));
  writeFileSync(path.join(dir, 'new.csv'), csvRows(20, 7, false));
  writeFileSync(path.join(dir, 'wide.csv'), 'a,b,c,d\n1,2,3,4\n');
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'test-spec.json'), JSON.stringify(config.dataset));
  const trained = gradmesh('train', '--config', 'config.json', '--checkpoint-dir', 'ckpt');
  if (trained.code !== 0) throw new Error(trained.stderr);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gradmesh predict', () => {
  it('predicts the newest checkpoint of a directory on an unlabelled CSV, top-2, as CSV; and a labelled one as JSON with accuracy', () => {
    const r = gradmesh('predict', '--checkpoint', 'ckpt', '--data', 'new.csv', '--top', '2', '--out', 'preds.csv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/20 predictions for new\.csv by ckpt\/ckpt-\d+\.safetensors \(step 75\), written to preds\.csv/);
    const lines = readFileSync(path.join(dir, 'preds.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('index,class,probability,class_2,probability_2');
    expect(lines).toHaveLength(21);
    const [, cls, p1, , p2] = lines[1]!.split(',').map(Number);
    expect(cls).toBeGreaterThanOrEqual(0);
    expect(p1).toBeGreaterThanOrEqual(p2!);

    const j = gradmesh('predict', '--checkpoint', 'ckpt', '--data', 'test.csv', '--out', 'preds.json', '--backend', 'pool', '--threads', '1');
    expect(j.code, j.stderr).toBe(0);
    const accuracy = Number(/accuracy against the data's labels: ([0-9.]+)%/.exec(j.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(70);
    const preds = JSON.parse(readFileSync(path.join(dir, 'preds.json'), 'utf8'));
    expect(preds).toHaveLength(100);
    expect(preds[0]).toEqual({ index: 0, class: expect.any(Number), probability: expect.any(Number), top: [expect.any(Object)], label: expect.any(Number) });
  });

  it('refuses data whose samples differ from the model input (exit 2, both shapes named)', () => {
    const r = gradmesh('predict', '--checkpoint', 'ckpt', '--data', 'wide.csv');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/wide\.csv: samples have shape \[4\] \(4 values\) but the model's input is \[3\] \(3 values\)/);
  });

  it('a missing checkpoint is one line, exit 2', () => {
    const r = gradmesh('predict', '--checkpoint', 'nope', '--data', 'new.csv');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--checkpoint: no such file or directory \(got "nope"\)/);
  });
});

describe('gradmesh evaluate', () => {
  it('writes the report evaluation fields for a dataset spec and a CSV, and they agree', () => {
    const a = gradmesh('evaluate', '--checkpoint', 'ckpt', '--data', 'test-spec.json', '--report', 'eval-spec.json', '--backend', 'reference');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/csv-mlp .* on test-spec\.json, 100 samples: accuracy [0-9.]+%  loss [0-9.]+/);
    const b = gradmesh('evaluate', '--checkpoint', 'ckpt', '--data', 'test.csv', '--report', 'eval-csv.json', '--backend', 'reference');
    expect(b.code, b.stderr).toBe(0);
    const ra = JSON.parse(readFileSync(path.join(dir, 'eval-spec.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(path.join(dir, 'eval-csv.json'), 'utf8'));
    expect(ra.testAccuracy).toBeGreaterThan(0.7);
    expect(rb.testAccuracy).toBe(ra.testAccuracy);
    expect(rb.testLoss).toBe(ra.testLoss);
    expect(ra.confusionMatrix).toHaveLength(3);
    expect(ra.testPerClass).toHaveLength(3);
    expect(ra.samples).toBe(100);
  });

  it('an autoencoder checkpoint reports its reconstruction MSE, scored against the input (no labels needed); export refuses it naming the kind', () => {
    const autoencoder = {
      ...config,
      name: 'csv-autoencoder',
      model: { kind: 'autoencoder', inputShape: [3], encoder: [{ type: 'dense', units: 2, activation: 'tanh' }], decoder: [{ type: 'dense', units: 3, activation: 'sigmoid' }] },
      loss: 'mse',
    };
    writeFileSync(path.join(dir, 'autoencoder.json'), JSON.stringify(autoencoder));
    const t = gradmesh('train', '--config', 'autoencoder.json', '--checkpoint-dir', 'ae-ckpt');
    expect(t.code, t.stderr).toBe(0);
    const r = gradmesh('evaluate', '--checkpoint', 'ae-ckpt', '--data', 'new.csv', '--report', 'ae-eval.json', '--backend', 'reference');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reconstruction MSE [0-9.]+\/value/);
    const report = JSON.parse(readFileSync(path.join(dir, 'ae-eval.json'), 'utf8'));
    expect(report.modelKind).toBe('autoencoder');
    expect(report.testReconstructionMse).toBeGreaterThan(0);
    expect(report.testReconstructionMse).toBeLessThan(0.2);
    const e = gradmesh('export', '--checkpoint', 'ae-ckpt', '--format', 'onnx', '--out', 'ae.onnx');
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/model\.kind: export to ONNX supports sequential models; this checkpoint holds an autoencoder/);
  }, 60_000);

  it('refuses an unlabelled CSV for a classifier (exit 2)', () => {
    const r = gradmesh('evaluate', '--checkpoint', 'ckpt', '--data', 'new.csv');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/new\.csv: has no labels/);
  });
});

describe('gradmesh export', () => {
  it('tfjs and onnx files that TF.js and ONNX Runtime run to the probabilities gradmesh predict writes', async () => {
    const p = gradmesh('predict', '--checkpoint', 'ckpt', '--data', 'new.csv', '--top', '3', '--out', 'all.json', '--backend', 'reference');
    expect(p.code, p.stderr).toBe(0);
    const ours = (JSON.parse(readFileSync(path.join(dir, 'all.json'), 'utf8')) as { top: { class: number; probability: number }[] }[]).map((row) => {
      const probabilities = [0, 0, 0];
      for (const t of row.top) probabilities[t.class] = t.probability;
      return probabilities;
    });
    const inputs = readFileSync(path.join(dir, 'new.csv'), 'utf8').trim().split('\n').slice(1).flatMap((l) => l.split(',').map(Number));

    const t = gradmesh('export', '--checkpoint', 'ckpt', '--format', 'tfjs', '--out', 'tfjs-model');
    expect(t.code, t.stderr).toBe(0);
    const modelJson = JSON.parse(readFileSync(path.join(dir, 'tfjs-model', 'model.json'), 'utf8'));
    const bin = readFileSync(path.join(dir, 'tfjs-model', 'weights.bin'));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }));
    const tfjsOut = Array.from((loaded.predict(tf.tensor(inputs, [20, 3])) as tf.Tensor).dataSync());

    const o = gradmesh('export', '--checkpoint', 'ckpt', '--format', 'onnx', '--out', 'onnx/model.onnx');
    expect(o.code, o.stderr).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(path.join(dir, 'onnx', 'model.onnx')));
    const onnxOut = Array.from((await session.run({ input: new ort.Tensor('float32', Float32Array.from(inputs), [20, 3]) }))['output']!.data as Float32Array);
    await session.release();

    // predict prints 7 significant digits, so the comparison is at that precision.
    ours.flat().forEach((v, i) => {
      expect(Math.abs(tfjsOut[i]! - v)).toBeLessThan(1e-5);
      expect(Math.abs(onnxOut[i]! - v)).toBeLessThan(1e-5);
    });
  }, 60_000);

  it('an unknown format is one line, exit 2', () => {
    const r = gradmesh('export', '--checkpoint', 'ckpt', '--format', 'keras', '--out', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format: must be tfjs or onnx \(got "keras"\)/);
  });
});
