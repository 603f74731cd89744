import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { datasetFromConfig } from '../../../shared/src/data/source.js';
import { ConfigError, DataError } from '../../../shared/src/errors.js';
import type { Json } from '../../../shared/src/config/validate.js';
import { idxBytes, tempDir, type TempDir } from './fixtures.js';

const scope = { path: 'dataset', file: 'run.json' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('datasetFromConfig', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
    dir.write('tr-img', idxBytes(0x08, [4, 2, 2], Array.from({ length: 16 }, (_, i) => i * 10)));
    dir.write('tr-lbl', idxBytes(0x08, [4], [0, 1, 2, 1]));
    dir.write('te-img', idxBytes(0x08, [2, 2, 2], Array.from({ length: 8 }, (_, i) => i)));
    dir.write('te-lbl', idxBytes(0x08, [2], [2, 0]));
    dir.write('te-lbl-small', idxBytes(0x08, [2], [1, 0]));
    dir.write('te-img-wide', idxBytes(0x08, [2, 3, 2], Array.from({ length: 12 }, (_, i) => i)));
    dir.write('train.csv', 'a,b,y\n1,2,0\n3,4,1\n');
    dir.write('test.csv', 'a,b,y\n5,6,1\n');
  });
  afterEach(() => dir.remove());

  const idx = (test: Record<string, Json> = { images: 'te-img', labels: 'te-lbl' }, extra: Record<string, Json> = {}): Json => ({
    format: 'idx',
    train: { images: 'tr-img', labels: 'tr-lbl' },
    test,
    ...extra,
  });

  it('loads an IDX pair per split, resolving relative paths against baseDir', () => {
    const { train, test } = datasetFromConfig(idx(), scope, dir.path);
    expect(train.count).toBe(4);
    expect(test.count).toBe(2);
    expect(train.name).toBe(join(dir.path, 'tr-img'));
    expect(train.classes).toBe(3);
  });

  it('loads CSV splits with labelColumn and scale', () => {
    const { train, test } = datasetFromConfig({ format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'y', scale: 0.5, classes: 2 }, scope, dir.path);
    expect(train.count).toBe(2);
    expect(test.scale).toBe(0.5);
    expect(train.classes).toBe(2);
  });

  it('names the exact field of a missing or invalid entry', () => {
    expect(configError(() => datasetFromConfig(idx({ images: 'te-img' }), scope, dir.path)).field).toBe('dataset.test.labels');
    expect(configError(() => datasetFromConfig({ format: 'parquet' }, scope, dir.path)).field).toBe('dataset.format');
    expect(configError(() => datasetFromConfig('cifar', scope, dir.path)).field).toBe('dataset');
    expect(configError(() => datasetFromConfig({ format: 'csv', train: 'a', test: 'b' }, scope, dir.path)).field).toBe('dataset.labelColumn');
    expect(configError(() => datasetFromConfig(idx(undefined, { clases: 3 }), scope, dir.path)).field).toBe('dataset.clases');
    expect(configError(() => datasetFromConfig(idx(undefined, { classes: 0 }), scope, dir.path)).field).toBe('dataset.classes');
    const { train: _t, ...noTrain } = idx() as Record<string, Json>;
    expect(configError(() => datasetFromConfig(noTrain, scope, dir.path)).message).toContain('dataset.train: is required');
  });

  it('a missing file is a DataError naming the resolved path and the config field to fix', () => {
    try {
      datasetFromConfig(idx({ images: 'nope', labels: 'te-lbl' }), scope, dir.path);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      expect((e as DataError).file).toBe(join(dir.path, 'nope'));
      expect((e as DataError).message).toContain('dataset.test.images in run.json');
    }
  });

  it('train and test must agree on feature size, and on classes unless classes is configured', () => {
    expect(() => datasetFromConfig(idx({ images: 'te-img-wide', labels: 'te-lbl' }), scope, dir.path)).toThrow(/6 features per sample .* has 4/);
    expect(() => datasetFromConfig(idx({ images: 'te-img', labels: 'te-lbl-small' }), scope, dir.path)).toThrow(/set dataset.classes/);
    const { test } = datasetFromConfig(idx({ images: 'te-img', labels: 'te-lbl-small' }, { classes: 3 }), scope, dir.path);
    expect(test.classes).toBe(3);
  });
});
