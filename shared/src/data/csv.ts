import { DataError } from '../errors.js';
import { Dataset } from './dataset.js';
import { parseCsv } from './csv-parse.js';
import { resolveClasses } from './labels.js';
import { readDataFile } from './read-file.js';
import { allocShared } from './shared-memory.js';

export interface CsvOptions {
  /** Header name of the column holding the integer class label; every other column is a feature. */
  readonly labelColumn: string;
  /** Multiplier applied to features when gathering, e.g. 1/255 for pixel CSVs. Default 1. */
  readonly scale?: number;
  /** Number of classes; default max label + 1. A label ≥ classes is an error. */
  readonly classes?: number;
  /** Data set name; default the path. */
  readonly name?: string;
}

/** A plain decimal number, optionally with exponent; no hex, Infinity, NaN or empty string (all of which Number() accepts). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_LABEL = 2 ** 31 - 1;

/**
 * A CSV file with a header row as a Dataset. Features are stored as float32 in shared memory
 * (CSV has no compact integer form to keep) and scaled when gathered; sampleShape is
 * [featureCount] in header order, without the label column.
 */
export function loadCsv(path: string, options: CsvOptions): Dataset {
  const text = readDataFile(path).toString('utf8');
  const records = parseCsv(text, path);
  const first = records.next();
  if (first.done) throw new DataError(path, 'is empty; a header row naming the columns is required');
  const header = first.value.fields.map((name) => name.trim());
  const labelIndex = header.indexOf(options.labelColumn);
  if (labelIndex < 0) {
    const looksLikeData = header.every((name) => DECIMAL.test(name));
    throw new DataError(path, `has no column ${JSON.stringify(options.labelColumn)}; its columns are: ${header.join(', ')}`, {
      hint: looksLikeData
        ? 'the first line looks like data: add a header row naming the columns'
        : 'set dataset.labelColumn to the name of the label column',
    });
  }
  if (header.lastIndexOf(options.labelColumn) !== labelIndex) {
    throw new DataError(path, `has two columns named ${JSON.stringify(options.labelColumn)}; the label column must be unambiguous`);
  }
  const columns = header.length;
  const featureCount = columns - 1;
  if (featureCount < 1) throw new DataError(path, `has only the label column ${JSON.stringify(options.labelColumn)}; at least one feature column is needed`);

  // Rows are not counted in advance (that would parse twice): grow, then copy once into shared memory.
  let features = new Float32Array(featureCount * 1024);
  let labels = new Int32Array(1024);
  const lines: number[] = [];
  let count = 0;
  for (const { fields, line } of records) {
    if (fields.length !== columns) {
      throw new DataError(path, `line ${line}: has ${fields.length} fields but the header has ${columns}`, {
        context: { line },
        hint: 'every row needs one value per header column; quote fields that contain commas',
      });
    }
    if (count === labels.length) {
      labels = grow(labels, count * 2);
      features = grow(features, count * 2 * featureCount);
    }
    let k = count * featureCount;
    for (let j = 0; j < columns; j++) {
      const cell = (fields[j] as string).trim();
      const where = `line ${line}, column ${JSON.stringify(header[j])} (${j + 1})`;
      if (!DECIMAL.test(cell)) {
        throw new DataError(path, `${where}: ${JSON.stringify(fields[j])} is not a number`, { context: { line, column: header[j] } });
      }
      const value = Number(cell);
      if (j === labelIndex) {
        if (!Number.isInteger(value) || value < 0 || value > MAX_LABEL) {
          throw new DataError(path, `${where}: label ${JSON.stringify(fields[j])} is not an integer class index ≥ 0`, {
            context: { line, column: header[j] },
            hint: 'labels must be the class numbers 0, 1, 2, …',
          });
        }
        labels[count] = value;
      } else {
        const stored = Math.fround(value);
        if (!Number.isFinite(stored)) {
          throw new DataError(path, `${where}: ${cell} is outside the float32 range`, { context: { line, column: header[j] } });
        }
        features[k++] = stored;
      }
    }
    lines.push(line);
    count++;
  }
  if (count === 0) throw new DataError(path, 'has a header row but no data rows');

  const sharedFeatures = allocShared('float32', count * featureCount);
  sharedFeatures.set(features.subarray(0, count * featureCount));
  const sharedLabels = allocShared('int32', count);
  sharedLabels.set(labels.subarray(0, count));
  const classes = resolveClasses(sharedLabels, path, options.classes, (i) => `line ${lines[i]}`);
  return Dataset.create({
    name: options.name ?? path,
    sampleShape: [featureCount],
    classes,
    features: sharedFeatures,
    labels: sharedLabels,
    ...(options.scale === undefined ? {} : { scale: options.scale }),
  });
}

function grow<T extends Float32Array | Int32Array>(a: T, length: number): T {
  const bigger = new (a.constructor as new (n: number) => T)(length);
  bigger.set(a);
  return bigger;
}
