import type { Task } from '../config/task.js';
import { Dataset } from './dataset.js';
import type { ColumnRef } from './csv-columns.js';
import { resolveCsvLabels, type CsvLabels } from './csv-labels.js';
import { readCsvTable, type CsvTable } from './csv-table.js';
import { allocShared } from './shared-memory.js';

export interface CsvOptions {
  /** The label column: its header name, or its 0-based number (−1 = the last column). */
  readonly labelColumn: ColumnRef;
  /** Default true: the first row names the columns. */
  readonly header?: boolean;
  /** The feature columns, in sample order; default every column but the label, in file order. */
  readonly featureColumns?: readonly ColumnRef[];
  /** Multiplier applied to features when gathering, e.g. 1/255 for pixel CSVs. Default 1. */
  readonly scale?: number;
  /** Number of classes; default max label + 1 (class numbers) or the number of names. */
  readonly classes?: number;
  /** classification (default): class numbers or names; regression: a real-valued target. */
  readonly task?: Task;
  /** A fixed class list, e.g. the one a checkpoint was trained with. */
  readonly classNames?: readonly string[];
  /** Data set name; default the path. */
  readonly name?: string;
}

/**
 * A CSV file (header row by default) as a Dataset. Features are stored as float32 in shared memory
 * (CSV has no compact integer form to keep) and scaled when gathered; sampleShape is
 * [featureCount] in featureColumns order (default: header order without the label column).
 */
export function loadCsv(path: string, options: CsvOptions): Dataset {
  return loadCsvSplits([path], options)[0]!;
}

/** Several CSV files of one data set (train and test): their labels are read together, so string classes get one numbering. */
export function loadCsvSplits(paths: readonly string[], options: CsvOptions): Dataset[] {
  const tables = paths.map((p) => readCsvTable(p, options));
  const labels = resolveCsvLabels(tables, options);
  return tables.map((table, i) => toDataset(table, labels[i]!, options));
}

function toDataset(table: CsvTable, labels: CsvLabels, options: CsvOptions): Dataset {
  const features = allocShared('float32', table.features.length);
  features.set(table.features);
  const common = {
    name: options.name ?? table.file,
    sampleShape: [table.columns.features.length],
    features,
    ...(options.scale === undefined ? {} : { scale: options.scale }),
  };
  if (labels.kind === 'targets') return Dataset.create({ ...common, classes: 1, targets: labels.targets });
  return Dataset.create({ ...common, classes: labels.classes, labels: labels.labels, ...(labels.classNames === undefined ? {} : { classNames: labels.classNames }) });
}
