import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataError } from '../errors.js';
import { parseWithSchema } from '../config/schema-errors.js';
import { child, type Json, type ValidationScope } from '../config/validate.js';
import type { Dataset, DatasetPair } from './dataset.js';
import type { Task } from '../config/task.js';
import { loadCsvSplits } from './csv.js';
import { loadIdxPair } from './idx.js';
import { loadMnist } from './mnist.js';
import { datasetSpec } from './spec.js';

/**
 * The config's `dataset` field, loaded. `scope` is the path of that field itself (usually
 * `{ path: 'dataset', file }`); relative paths resolve against `baseDir`, the config file's folder.
 *
 *   "mnist"
 *   { "format": "idx", "train": { "images": p, "labels": p }, "test": { "images": p, "labels": p }, "classes"?: n }
 *   { "format": "csv", "train": p, "test": p, "labelColumn": name | number, "header"?: bool, "featureColumns"?: […], "scale"?: x, "classes"?: n }
 *
 * Without `classes`, each split infers max label + 1 and the two must agree; CSV class names are numbered
 * over both splits together (Note [class names in sorted order] in csv-labels.ts). `options.task` is the
 * run config's `task`: a regression run reads the CSV label column as real-valued targets.
 */
export function datasetFromConfig(spec: Json, scope: ValidationScope, baseDir: string, options: { readonly task?: Task } = {}): DatasetPair {
  const parsed = parseWithSchema(datasetSpec, spec, scope);
  if (parsed === 'mnist') return loadMnist();
  const at = (...keys: string[]) => keys.reduce(child, scope);
  const existing = (file: string, ...keys: string[]) => existingPath(file, at(...keys), scope, baseDir);
  const classes = parsed.classes === undefined ? {} : { classes: parsed.classes };
  let pair: DatasetPair;
  if (parsed.format === 'idx') {
    const split = (key: 'train' | 'test'): Dataset =>
      loadIdxPair(existing(parsed[key].images, key, 'images'), existing(parsed[key].labels, key, 'labels'), classes);
    pair = { train: split('train'), test: split('test') };
  } else {
    const csv = {
      labelColumn: parsed.labelColumn, header: parsed.header, scale: parsed.scale, ...classes,
      ...(parsed.featureColumns === undefined ? {} : { featureColumns: parsed.featureColumns }),
      ...(options.task === undefined ? {} : { task: options.task }),
    };
    const [train, test] = loadCsvSplits([existing(parsed.train, 'train'), existing(parsed.test, 'test')], csv);
    pair = { train: train!, test: test! };
  }
  checkAgreement(pair, scope);
  return pair;
}

/** The resolved path of a file field; a missing file fails here, where the config field is known. */
function existingPath(file: string, at: ValidationScope, scope: ValidationScope, baseDir: string): string {
  const path = resolve(baseDir, file);
  const field = at.path;
  if (!existsSync(path)) {
    throw new DataError(path, 'file not found', {
      context: { field },
      hint: `check ${field}${scope.file ? ` in ${scope.file}` : ''}; relative paths resolve against ${baseDir}`,
    });
  }
  return path;
}

function checkAgreement({ train, test }: DatasetPair, scope: ValidationScope): void {
  if (train.featureSize !== test.featureSize) {
    throw new DataError(test.name, `has ${test.featureSize} features per sample but the training set ${train.name} has ${train.featureSize}`, {
      hint: `${scope.path}.train and ${scope.path}.test must hold the same kind of samples`,
    });
  }
  if (train.classes !== test.classes && train.task === 'classification') {
    throw new DataError(test.name, `has labels 0..${test.classes - 1} but the training set ${train.name} has labels 0..${train.classes - 1}`, {
      hint: `set ${scope.path}.classes to the true number of classes (at least ${Math.max(train.classes, test.classes)})`,
    });
  }
}
