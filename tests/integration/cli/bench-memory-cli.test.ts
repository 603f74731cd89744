import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';

// `gradmesh bench memory --model <name>` trains examples/mnist-<name>.json and samples RSS after full collections
// (Note [sampled after a full collection] in bench/src/backend/full-collection.ts). Runs the built CLI.
let dir: string;

const tiny = {
  name: 'mnist-tiny',
  seed: 1,
  dataset: 'mnist',
  model: { kind: 'sequential', inputShape: [784], layers: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 10 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.001 },
  training: { epochs: 1, batchSize: 16 },
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-bench-memory-'));
  writeFileSync(path.join(dir, 'mnist-tiny.json'), JSON.stringify(tiny));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench memory', () => {
  it('every sample of the chosen model follows a full collection, and the report says so', () => {
    const r = runGradmesh(dir, ['bench', 'memory', '--model', 'tiny', '--examples', dir, '--memory-steps', '40', '--threads', '1', '--json', 'm.json']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^memory: mnist-tiny on pool \(1 threads\), batch 16, 40 steps .*each sample after a full collection\) — flat/m);
    const report = JSON.parse(readFileSync(path.join(dir, 'm.json'), 'utf8')) as { collected: boolean; samples: { afterFullCollection: boolean }[]; liveHeapSlopeBytesPer1000Steps: number };
    expect(report.collected).toBe(true);
    expect(report.samples.length).toBeGreaterThanOrEqual(2);
    expect(report.samples.every((s) => s.afterFullCollection)).toBe(true);
    expect(Number.isFinite(report.liveHeapSlopeBytesPer1000Steps)).toBe(true);
  }, 120_000);

  it.each([
    [['--model', '../tiny'], /--model: must name an example/],
    [['--model', 'nothere'], /--model: no mnist-nothere\.json in .*\(one of: tiny\)/],
  ])('refuses %j in one line, exit 2, before any work', (args, message) => {
    const r = runGradmesh(dir, ['bench', 'memory', '--examples', dir, '--memory-steps', '40', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
