import { DataError } from '../errors.js';
import { resolveColumns, DECIMAL, type ColumnRef, type CsvColumns } from './csv-columns.js';
import { parseCsv } from './csv-parse.js';
import { readDataFile } from './read-file.js';

export interface CsvTableOptions {
  readonly labelColumn: ColumnRef;
  /** Default true: the first row names the columns. Without a header, columns are named "0", "1", …. */
  readonly header?: boolean;
  readonly featureColumns?: readonly ColumnRef[];
}

/**
 * One CSV file read into features and raw label cells. The label column stays text here: whether it
 * holds class numbers, class names or real-valued targets is decided for both splits together
 * (csv-labels.ts), so that train and test share one class list.
 */
export interface CsvTable {
  readonly file: string;
  readonly columns: CsvColumns;
  readonly count: number;
  /** count × features.length float32 values, row-major, in featureColumns order. */
  readonly features: Float32Array;
  /** The label cell of each row, trimmed. */
  readonly labels: readonly string[];
  /** The 1-based line each row starts on, for error messages. */
  readonly lines: readonly number[];
}

export function readCsvTable(file: string, options: CsvTableOptions): CsvTable {
  const text = readDataFile(file).toString('utf8');
  const records = parseCsv(text, file);
  const first = records.next();
  if (first.done) throw new DataError(file, `is empty; ${options.header === false ? 'at least one data row' : 'a header row naming the columns'} is required`);
  const hasHeader = options.header !== false;
  const names = hasHeader ? first.value.fields.map((name) => name.trim()) : first.value.fields.map((_, j) => String(j));
  const columns = resolveColumns(file, names, options.labelColumn, options.featureColumns, hasHeader);
  const width = names.length;
  const featureCount = columns.features.length;

  // Rows are not counted in advance (that would parse twice): grow, then trim once.
  let features = new Float32Array(featureCount * 1024);
  const labels: string[] = [];
  const lines: number[] = [];
  const columnName = (j: number): string => (hasHeader ? `column ${JSON.stringify(names[j])}` : `column ${j}`);
  const take = (fields: readonly string[], line: number): void => {
    if (fields.length !== width) {
      throw new DataError(file, `line ${line}: has ${fields.length} fields but the ${hasHeader ? 'header has' : 'first row has'} ${width}`, {
        context: { line },
        hint: 'every row needs one value per column; quote fields that contain commas',
      });
    }
    if ((labels.length + 1) * featureCount > features.length) {
      const bigger = new Float32Array(features.length * 2);
      bigger.set(features);
      features = bigger;
    }
    let k = labels.length * featureCount;
    for (const j of columns.features) {
      const cell = (fields[j] as string).trim();
      const where = `line ${line}, ${columnName(j)}`;
      if (!DECIMAL.test(cell)) throw new DataError(file, `${where}: ${JSON.stringify(fields[j])} is not a number`, { context: { line, column: names[j] } });
      const stored = Math.fround(Number(cell));
      if (!Number.isFinite(stored)) throw new DataError(file, `${where}: ${cell} is outside the float32 range`, { context: { line, column: names[j] } });
      features[k++] = stored;
    }
    labels.push((fields[columns.label] as string).trim());
    lines.push(line);
  };
  if (!hasHeader) take(first.value.fields, first.value.line);
  for (const { fields, line } of records) take(fields, line);
  if (labels.length === 0) throw new DataError(file, 'has a header row but no data rows');
  return { file, columns, count: labels.length, features: features.subarray(0, labels.length * featureCount), labels, lines };
}
