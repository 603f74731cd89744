import type { Task } from '../config/task.js';
import { DataError } from '../errors.js';
import { DECIMAL } from './csv-columns.js';
import type { CsvTable } from './csv-table.js';
import { resolveClasses } from './labels.js';

/** What the label cells of one table became. */
export type CsvLabels =
  | { readonly kind: 'classes'; readonly labels: Int32Array; readonly classes: number; readonly classNames?: readonly string[] }
  | { readonly kind: 'targets'; readonly targets: Float32Array };

export interface CsvLabelOptions {
  readonly task?: Task;
  /** Number of classes (class numbers: every label must lie below; class names: must equal their count). */
  readonly classes?: number;
  /** A fixed class list (e.g. a checkpoint's): every label must be one of these names. */
  readonly classNames?: readonly string[];
}

const CLASS_NUMBER = /^\d+$/;
const MAX_LABEL = 2 ** 31 - 1;

/**
 * The labels of the tables of one data set (train and test), decided together.
 *
 * Note [class names in sorted order]: a label column is read as class NAMES when a class list is given
 * or when some cell is not a number; the classes are then the distinct names of all the tables, sorted by
 * UTF-16 code unit (locale-independent, so every machine numbers them alike: "setosa" 0, "versicolor" 1,
 * "virginica" 2), and a test split that lacks a class still numbers the others as training does. A column
 * of numbers keeps meaning class numbers 0, 1, 2, … as before. A column mixing both is refused: a stray
 * "7" among names, or a name among numbers, is far more often a damaged row than a class.
 */
export function resolveCsvLabels(tables: readonly CsvTable[], options: CsvLabelOptions): CsvLabels[] {
  if (options.task === 'regression') return tables.map(targetsOf);
  const names = options.classNames ?? namesIfAny(tables);
  if (names === undefined) return tables.map((t) => classNumbersOf(t, options.classes));
  if (options.classes !== undefined && options.classes !== names.length) {
    throw new DataError(tables[0]!.file, `names ${names.length} classes (${preview(names)}) but dataset.classes is ${options.classes}`, { hint: 'leave dataset.classes out: named classes are counted from the data' });
  }
  const index = new Map(names.map((name, i) => [name, i]));
  return tables.map((t) => {
    const labels = new Int32Array(t.count);
    t.labels.forEach((cell, i) => {
      const k = index.get(cell);
      if (k === undefined) {
        throw new DataError(t.file, `line ${t.lines[i]}: class ${JSON.stringify(cell)} is not one of the model's ${names.length} classes (${preview(names)})`, {
          context: { line: t.lines[i]! },
          hint: 'the data must use the class names the model was trained with',
        });
      }
      labels[i] = k;
    });
    return { kind: 'classes', labels, classes: names.length, classNames: names };
  });
}

/** The sorted distinct names when the column holds names, undefined when every cell is a number. */
function namesIfAny(tables: readonly CsvTable[]): string[] | undefined {
  let firstNumber: { table: CsvTable; i: number } | undefined;
  let firstName: { table: CsvTable; i: number } | undefined;
  const distinct = new Set<string>();
  for (const table of tables) {
    table.labels.forEach((cell, i) => {
      if (DECIMAL.test(cell)) firstNumber ??= { table, i };
      else {
        if (cell === '') throw new DataError(table.file, `line ${table.lines[i]}: the label is empty`, { context: { line: table.lines[i]! }, hint: 'every row needs a label' });
        firstName ??= { table, i };
        distinct.add(cell);
      }
    });
  }
  if (firstName === undefined) return undefined;
  if (firstNumber !== undefined) {
    const { table, i } = firstNumber;
    throw new DataError(table.file, `line ${table.lines[i]}: label ${JSON.stringify(table.labels[i])} is a number, but other rows name their class (${JSON.stringify(firstName.table.labels[firstName.i])} on line ${firstName.table.lines[firstName.i]} of ${firstName.table.file})`, {
      context: { line: table.lines[i]! },
      hint: 'a label column holds either class names or class numbers 0, 1, 2, …, not both',
    });
  }
  return [...distinct].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function classNumbersOf(table: CsvTable, classes: number | undefined): CsvLabels {
  const labels = new Int32Array(table.count);
  table.labels.forEach((cell, i) => {
    const value = Number(cell);
    if (!CLASS_NUMBER.test(cell) || value > MAX_LABEL) {
      throw new DataError(table.file, `line ${table.lines[i]}: label ${JSON.stringify(cell)} is not an integer class index ≥ 0`, {
        context: { line: table.lines[i]! },
        hint: DECIMAL.test(cell) && !CLASS_NUMBER.test(cell) && !cell.startsWith('-') ? 'labels must be the class numbers 0, 1, 2, … (or class names); for a real-valued target set "task": "regression"' : 'labels must be the class numbers 0, 1, 2, … or class names',
      });
    }
    labels[i] = value;
  });
  return { kind: 'classes', labels, classes: resolveClasses(labels, table.file, classes, (i) => `line ${table.lines[i]}`) };
}

function targetsOf(table: CsvTable): CsvLabels {
  const targets = new Float32Array(table.count);
  table.labels.forEach((cell, i) => {
    const value = Math.fround(Number(cell));
    if (!DECIMAL.test(cell) || !Number.isFinite(value)) {
      throw new DataError(table.file, `line ${table.lines[i]}: regression target ${JSON.stringify(cell)} is not a ${DECIMAL.test(cell) ? 'float32-sized ' : ''}number`, {
        context: { line: table.lines[i]! },
        hint: '"task": "regression" reads the label column as real numbers; for class names use "task": "classification"',
      });
    }
    targets[i] = value;
  });
  return { kind: 'targets', targets };
}

function preview(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((n) => JSON.stringify(n)).join(', ');
  return names.length > 8 ? `${shown}, …` : shown;
}
