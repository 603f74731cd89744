import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import {
  child,
  oneOf,
  optionalNumber,
  rejectUnknownKeys,
  requireObject,
  requireString,
  type Json,
  type JsonObject,
  type ValidationScope,
} from '../config/validate.js';
import type { Dataset, DatasetPair } from './dataset.js';
import { loadCsv } from './csv.js';
import { loadIdxPair } from './idx.js';
import { loadMnist } from './mnist.js';

/**
 * The config's `dataset` field, loaded. `scope` is the path of that field itself (usually
 * `{ path: 'dataset', file }`); relative paths resolve against `baseDir`, the config file's folder.
 *
 *   "mnist"
 *   { "format": "idx", "train": { "images": p, "labels": p }, "test": { "images": p, "labels": p }, "classes"?: n }
 *   { "format": "csv", "train": p, "test": p, "labelColumn": name, "scale"?: x, "classes"?: n }
 *
 * Without `classes`, each split infers max label + 1 and the two must agree.
 */
export function datasetFromConfig(spec: Json, scope: ValidationScope, baseDir: string): DatasetPair {
  if (spec === 'mnist') return loadMnist();
  if (typeof spec === 'string') {
    throw new ConfigError(scope.path, 'must be "mnist" or an object with a "format" of "idx" or "csv"', { value: spec, ...fileOf(scope) });
  }
  const obj = requireObject(spec, scope, '"mnist" or an object with a "format" of "idx" or "csv"');
  const format = oneOf(obj, 'format', scope, ['idx', 'csv'] as const);
  const pair = format === 'idx' ? idxFromConfig(obj, scope, baseDir) : csvFromConfig(obj, scope, baseDir);
  checkAgreement(pair, scope);
  return pair;
}

function idxFromConfig(obj: JsonObject, scope: ValidationScope, baseDir: string): DatasetPair {
  rejectUnknownKeys(obj, ['format', 'train', 'test', 'classes'], scope);
  const classes = optionalClasses(obj, scope);
  const split = (key: 'train' | 'test'): Dataset => {
    const s = child(scope, key);
    if (!(key in obj)) throw new ConfigError(s.path, 'is required (an object { "images": path, "labels": path })', fileOf(scope));
    const files = requireObject(obj[key], s, 'an object { "images": path, "labels": path }');
    rejectUnknownKeys(files, ['images', 'labels'], s);
    const images = existingPath(files, 'images', s, baseDir);
    const labels = existingPath(files, 'labels', s, baseDir);
    return loadIdxPair(images, labels, classes === undefined ? {} : { classes });
  };
  return { train: split('train'), test: split('test') };
}

function csvFromConfig(obj: JsonObject, scope: ValidationScope, baseDir: string): DatasetPair {
  rejectUnknownKeys(obj, ['format', 'train', 'test', 'labelColumn', 'scale', 'classes'], scope);
  const labelColumn = requireString(obj, 'labelColumn', scope);
  const scale = optionalNumber(obj, 'scale', scope, 1, { above: 0 });
  const classes = optionalClasses(obj, scope);
  const options = { labelColumn, scale, ...(classes === undefined ? {} : { classes }) };
  return {
    train: loadCsv(existingPath(obj, 'train', scope, baseDir), options),
    test: loadCsv(existingPath(obj, 'test', scope, baseDir), options),
  };
}

function optionalClasses(obj: JsonObject, scope: ValidationScope): number | undefined {
  if (!('classes' in obj)) return undefined;
  return optionalNumber(obj, 'classes', scope, 0, { integer: true, min: 1 });
}

/** The resolved path of obj[key]; a missing file fails here, where the config field is known. */
function existingPath(obj: JsonObject, key: string, scope: ValidationScope, baseDir: string): string {
  const path = resolve(baseDir, requireString(obj, key, scope));
  const field = child(scope, key).path;
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
  if (train.classes !== test.classes) {
    throw new DataError(test.name, `has labels 0..${test.classes - 1} but the training set ${train.name} has labels 0..${train.classes - 1}`, {
      hint: `set ${scope.path}.classes to the true number of classes (at least ${Math.max(train.classes, test.classes)})`,
    });
  }
}

function fileOf(scope: ValidationScope): { file?: string } {
  return scope.file === undefined ? {} : { file: scope.file };
}
