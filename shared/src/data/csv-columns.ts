import { DataError } from '../errors.js';

/** A CSV column named by its header name or by its 0-based position (negative counts from the end: −1 is the last). */
export type ColumnRef = string | number;

/** A plain decimal number, optionally with exponent; no hex, Infinity, NaN or empty string (all of which Number() accepts). */
export const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Which columns of a CSV are the label and which the features, resolved against its header. */
export interface CsvColumns {
  /** The column names: the header row, or "0", "1", … for a file without one. */
  readonly names: readonly string[];
  readonly label: number;
  /** Feature columns in the order the samples hold them. */
  readonly features: readonly number[];
}

/**
 * Resolves `labelColumn` and `featureColumns` (default: every column but the label, in file order)
 * against the column names. Every problem names the file and lists the columns it has.
 */
export function resolveColumns(file: string, names: readonly string[], labelColumn: ColumnRef, featureColumns: readonly ColumnRef[] | undefined, hasHeader: boolean): CsvColumns {
  const label = columnIndex(file, names, labelColumn, 'label column', hasHeader);
  const features = featureColumns === undefined ? names.map((_, j) => j).filter((j) => j !== label) : featureColumns.map((ref) => columnIndex(file, names, ref, 'feature column', hasHeader));
  const seen = new Set<number>();
  for (const j of features) {
    if (j === label) throw new DataError(file, `column ${describe(names, j)} is both the label column and a feature column`, { hint: 'leave the label column out of featureColumns' });
    if (seen.has(j)) throw new DataError(file, `featureColumns names column ${describe(names, j)} twice`);
    seen.add(j);
  }
  if (features.length === 0) throw new DataError(file, `has only the label column ${describe(names, label)}; at least one feature column is needed`);
  return { names, label, features };
}

function columnIndex(file: string, names: readonly string[], ref: ColumnRef, role: string, hasHeader: boolean): number {
  if (typeof ref === 'number') {
    const j = ref < 0 ? names.length + ref : ref;
    if (!Number.isInteger(ref) || j < 0 || j >= names.length) {
      throw new DataError(file, `has ${names.length} columns (0..${names.length - 1}), so ${role} ${ref} does not exist`, { hint: 'column numbers count from 0; −1 is the last column' });
    }
    return j;
  }
  if (!hasHeader) {
    throw new DataError(file, `has no header row ("header": false), so the ${role} must be a column number, not ${JSON.stringify(ref)}`, { hint: 'give the column number, counting from 0 (−1 is the last column)' });
  }
  const j = names.indexOf(ref);
  if (j < 0) {
    const looksLikeData = names.every((name) => DECIMAL.test(name));
    throw new DataError(file, `has no column ${JSON.stringify(ref)}; its columns are: ${names.join(', ')}`, {
      hint: looksLikeData
        ? 'the first line looks like data: add a header row naming the columns, or set "header": false and name columns by number'
        : `set dataset.${role === 'label column' ? 'labelColumn' : 'featureColumns'} to a column name or number`,
    });
  }
  if (names.lastIndexOf(ref) !== j) throw new DataError(file, `has two columns named ${JSON.stringify(ref)}; the ${role} must be unambiguous`, { hint: 'rename one of them, or name the column by number' });
  return j;
}

function describe(names: readonly string[], j: number): string {
  return `${JSON.stringify(names[j])} (${j})`;
}
