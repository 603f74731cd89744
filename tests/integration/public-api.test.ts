import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Note [testing the package as users get it]
 * Every other test imports sources (vitest aliases @gradmesh/* to src). This one goes through Node's own
 * resolution of `@gradmesh/shared` — the package's `exports` map, so the compiled dist and only the root
 * entry, the surface a user has — and touches nothing else of gradmesh. The import is dynamic, from the
 * resolved file URL, so the alias does not apply; the module graph it loads (dist) is this file's alone, so
 * class identity in other test files is unaffected. Types come from the same place: the package's .d.ts.
 */
type Gradmesh = typeof import('@gradmesh/shared');

let gradmesh: Gradmesh;
let dir: string;

beforeAll(async () => {
  const entry = createRequire(import.meta.url).resolve('@gradmesh/shared');
  expect(entry).toMatch(/[/\\]shared[/\\]dist[/\\]index\.js$/);
  gradmesh = (await import(pathToFileURL(entry).href)) as Gradmesh;
  dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-public-api-'));
  // Two separable classes in 4 features: class = whether x0 + x1 > x2 + x3.
  const rows = (count: number, seed: number): string => {
    const random = new gradmesh.Random(seed);
    const lines = ['x0,x1,x2,x3,label'];
    for (let i = 0; i < count; i++) {
      const x = [0, 1, 2, 3].map(() => Math.round(random.next() * 100) / 100);
      lines.push(`${x.join(',')},${x[0]! + x[1]! > x[2]! + x[3]! ? 1 : 0}`);
    }
    return `${lines.join('\n')}\n`;
  };
  writeFileSync(path.join(dir, 'train.csv'), rows(400, 1));
  writeFileSync(path.join(dir, 'test.csv'), rows(100, 2));
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the public entry point (@gradmesh/shared, built)', () => {
  it('parses a config, loads a CSV dataset, trains a small MLP and evaluates it well above chance', async () => {
    const { parseRunConfig, datasetFromConfig, createModel, Model, ConfigError } = gradmesh;
    const config = parseRunConfig(
      {
        seed: 3,
        dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label', classes: 2 },
        model: { kind: 'sequential', inputShape: [4], layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 2 }] },
        loss: 'softmaxCrossEntropy',
        optimizer: { type: 'adam', learningRate: 0.02 },
        training: { epochs: 8, batchSize: 16 },
        backend: 'reference',
      },
      { baseDir: dir },
    );
    const { train, test } = datasetFromConfig(config.dataset, { path: 'dataset' }, config.baseDir);
    expect(train.count).toBe(400);
    const model = await createModel(config);
    expect(model).toBeInstanceOf(Model);
    const { history } = await model.fit(train);
    expect(history).toHaveLength(8);
    const result = await model.evaluate(test, { confusion: true });
    expect(result.count).toBe(100);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.accuracy).toBeGreaterThan(0.8);
    expect(result.confusion?.toJSON().total).toBe(100);
    await model.close();
    expect(() => parseRunConfig({ seed: 1 })).toThrow(ConfigError);
  });

  it('exposes the small surface only: internals are not exported from the root', () => {
    expect(Object.keys(gradmesh)).not.toContain('applyUpdate');
    expect(Object.keys(gradmesh)).not.toContain('ParameterStore');
    expect(typeof gradmesh.loadRunConfig).toBe('function');
  });
});
