import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '../config/task.js';
import type { Json } from '../config/validate.js';
import { ConfigError, DataError } from '../errors.js';
import { loadCsv, type CsvOptions } from '../data/csv.js';
import type { ColumnRef } from '../data/csv-columns.js';
import { parseCsv } from '../data/csv-parse.js';
import { Dataset } from '../data/dataset.js';
import { loadIdxPair, readIdxFile } from '../data/idx.js';
import { readDataFile } from '../data/read-file.js';
import { datasetFromConfig } from '../data/source.js';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { isPngInput, loadPngImages } from './png-images.js';

export interface InferenceDataOptions {
  /** The checkpoint's `dataset` spec: a CSV's label column and scale come from it. */
  readonly trainedOn: Json;
  /** Classes of a classifier's output (labels must lie below), or undefined to infer them (autoencoders). */
  readonly classes: number | undefined;
  /** An IDX labels file to go with an IDX images file. */
  readonly labels?: string;
  /** The run's task: a regression model's label column holds real-valued targets. */
  readonly task?: Task;
  /** The class names the model was trained with (string labels are numbered by these). */
  readonly classNames?: readonly string[];
  /** Values per sample the model takes: tells a CSV whose label column is named by number whether it has that column. */
  readonly inputSize?: number;
}

/** Data to run a trained model on; `labelled` is false when the file has no labels (predict only). */
export interface InferenceData {
  readonly data: Dataset;
  readonly labelled: boolean;
}

/**
 * The `--data` of predict/evaluate, by extension:
 *   .json  a dataset spec as in a run config's `dataset` (or a whole run config): its test split
 *   .csv   a CSV with a header; the label column (named as in training) may be left out for predict
 *   .png   a PNG image, or a directory of them (png-images.ts); unlabelled
 *   else   an IDX images file, with `labels` as its IDX labels file when given
 */
export function loadInferenceData(file: string, options: InferenceDataOptions): InferenceData {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') {
    const data = fromSpecFile(file, options.task);
    checkClassNames(data, options.classNames);
    return { data: data.task === 'regression' ? data : withClasses(data, options.classes), labelled: true };
  }
  if (ext === '.csv') return fromCsv(file, options);
  if (isPngInput(file)) return { data: loadPngImages(file, options.classes ?? 1), labelled: false };
  const classes = options.classes === undefined ? {} : { classes: options.classes };
  if (options.labels !== undefined) return { data: loadIdxPair(file, options.labels, classes), labelled: true };
  const images = readIdxFile(file);
  if (images.dims.length < 2) throw new DataError(file, `an images file needs dims [count, ...sample shape], but this one is 1-D (${images.dims[0]})`);
  const count = images.dims[0]!;
  return { data: Dataset.create({ name: file, sampleShape: images.dims.slice(1), classes: options.classes ?? 1, features: images.data, labels: new Uint8Array(count) }), labelled: false };
}

function fromSpecFile(file: string, task: Task | undefined): Dataset {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError('--data', `cannot be read as JSON (${(cause as Error).message})`, { value: file });
  }
  // A whole run config works too: its `dataset` field is the spec.
  const isRunConfig = typeof json === 'object' && json !== null && !Array.isArray(json) && 'dataset' in json;
  const spec = (isRunConfig ? (json as Record<string, Json>)['dataset'] : json) as Json;
  return datasetFromConfig(spec, { path: isRunConfig ? 'dataset' : '(root)', file }, path.dirname(path.resolve(file)), task === undefined ? {} : { task }).test;
}

/**
 * A spec's test split infers its classes from its labels, which may stop short of the model's output
 * units (a test set without the last class): widen it, so one-hot targets fit the output.
 */
function withClasses(data: Dataset, classes: number | undefined): Dataset {
  if (classes === undefined || data.classes === classes) return data;
  if (data.classes > classes) {
    throw new DataError(data.name, `has labels up to ${data.classes - 1} but the model has ${classes} output units (classes 0..${classes - 1})`, {
      hint: 'evaluate the model on data of the classes it was trained on',
    });
  }
  return Dataset.fromShared({ ...data.toShared(), classes });
}

/** The CSV options of training (label and feature columns, header, scale), as the checkpoint's dataset spec says. */
/**
 * A dataset spec numbers its class names over its own files (Note [class names in sorted order]); when those
 * are not the model's classes, its class numbers mean other classes, and the figures would be silently wrong.
 */
function checkClassNames(data: Dataset, modelNames: readonly string[] | undefined): void {
  const names = data.classNames;
  if (names === undefined && modelNames === undefined) return;
  const same = names !== undefined && modelNames !== undefined && names.length === modelNames.length && names.every((n, i) => n === modelNames[i]);
  if (same) return;
  const describe = (list: readonly string[] | undefined) => (list === undefined ? 'class numbers' : list.map((n) => JSON.stringify(n)).join(', '));
  throw new DataError(data.name, `has the classes ${describe(names)} but the model was trained on ${describe(modelNames)}`, {
    hint: 'give a CSV file instead (its class names are numbered by the model\'s), or a spec whose files hold the model\'s classes',
  });
}

function csvOptionsOf(trainedOn: Json): { labelColumn: ColumnRef; header: boolean; featureColumns?: ColumnRef[]; scale: number } {
  if (typeof trainedOn === 'object' && trainedOn !== null && !Array.isArray(trainedOn) && trainedOn['format'] === 'csv') {
    const scale = trainedOn['scale'];
    const label = trainedOn['labelColumn'];
    const features = trainedOn['featureColumns'];
    return {
      labelColumn: typeof label === 'number' ? label : String(label),
      header: trainedOn['header'] !== false,
      ...(Array.isArray(features) ? { featureColumns: features.map((f) => (typeof f === 'number' ? f : String(f))) } : {}),
      scale: typeof scale === 'number' ? scale : 1,
    };
  }
  return { labelColumn: 'label', header: true, scale: 1 };
}

function fromCsv(file: string, options: InferenceDataOptions): InferenceData {
  const csv = csvOptionsOf(options.trainedOn);
  const text = readDataFile(file).toString('utf8');
  const first = parseCsv(text, file).next();
  const row = first.done ? [] : first.value.fields.map((name) => name.trim());
  const header = csv.header ? row : row.map((_, j) => String(j));
  // Labelled: the label column is there — by name, or by number when the file has a column to spare for it.
  const featureCount = csv.featureColumns?.length ?? options.inputSize;
  const labelled = typeof csv.labelColumn === 'string' ? header.includes(csv.labelColumn) : featureCount === undefined ? true : header.length > featureCount;
  if (labelled) {
    const load: CsvOptions = {
      ...csv,
      ...(options.classes === undefined || options.classNames !== undefined ? {} : { classes: options.classes }),
      ...(options.task === undefined ? {} : { task: options.task }),
      ...(options.classNames === undefined ? {} : { classNames: options.classNames }),
    };
    const data = loadCsv(file, load);
    return { data: data.task === 'regression' || data.classNames !== undefined ? data : withClasses(data, options.classes), labelled: true };
  }
  const columns = csv.featureColumns?.map((ref) => (typeof ref === 'number' ? (ref < 0 ? header.length + ref : ref) : header.indexOf(ref)));
  if (columns !== undefined) {
    const missing = csv.featureColumns!.filter((_, i) => columns[i]! < 0 || columns[i]! >= header.length);
    if (missing.length > 0) throw new DataError(file, `has no feature column${missing.length > 1 ? 's' : ''} ${missing.map((m) => JSON.stringify(m)).join(', ')}; its columns are: ${header.join(', ')}`, { hint: 'give the columns the model was trained on' });
  }
  return { data: unlabelledCsv(file, text, header, csv.header, columns, csv.scale, options.classes ?? 1), labelled: false };
}

/** A CSV of features only (no label column): the feature columns (default every column), in that order. */
function unlabelledCsv(file: string, text: string, header: readonly string[], hasHeader: boolean, columns: readonly number[] | undefined, scale: number, classes: number): Dataset {
  if (header.length === 0) throw new DataError(file, 'is empty; a header row naming the columns is required');
  const use = columns ?? header.map((_, j) => j);
  const values: number[] = [];
  let count = 0;
  let skippedHeader = !hasHeader;
  for (const { fields, line } of parseCsv(text, file)) {
    if (!skippedHeader) {
      skippedHeader = true;
      continue;
    }
    if (fields.length !== header.length) throw new DataError(file, `line ${line}: has ${fields.length} fields but the header has ${header.length}`);
    for (const j of use) {
      const cell = fields[j]!;
      const value = Number(cell.trim());
      if (cell.trim() === '' || !Number.isFinite(value)) throw new DataError(file, `line ${line}, column ${JSON.stringify(header[j])}: ${JSON.stringify(cell)} is not a number`);
      values.push(value);
    }
    count++;
  }
  if (count === 0) throw new DataError(file, 'has a header row but no data rows');
  return Dataset.create({ name: file, sampleShape: [use.length], classes, features: Float32Array.from(values), labels: new Int32Array(count), scale });
}

/**
 * Refuses data whose samples do not hold as many values as the model's input. Only the size must agree:
 * training views a stored sample as the model's input shape (IDX [28, 28] feeds inputShape [784]).
 */
export function checkSampleShape(data: Dataset, modelInput: Shape): void {
  if (data.featureSize === sizeOf(modelInput)) return;
  throw new DataError(data.name, `samples have shape ${formatShape(data.sampleShape)} (${data.featureSize} values) but the model's input is ${formatShape(modelInput)} (${sizeOf(modelInput)} values)`, {
    hint: 'give data of the kind the model was trained on',
  });
}
