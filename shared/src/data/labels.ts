import { DataError } from '../errors.js';
import type { LabelArray } from './dataset.js';

/**
 * The number of classes of a label file: `classes` when configured (every label must then lie in
 * 0..classes−1), else max label + 1. The first offending label is named by position, since a
 * label file with one stray value is usually a corrupted or mismatched file.
 *
 * `position(i)` describes sample i in the file's own terms (an IDX index, a CSV line).
 */
export function resolveClasses(labels: LabelArray, file: string, classes: number | undefined, position: (i: number) => string): number {
  if (labels.length === 0) throw new DataError(file, 'has no labels');
  if (classes !== undefined) {
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i] as number;
      if (label >= classes) {
        throw new DataError(file, `${position(i)}: label ${label} is outside 0..${classes - 1} (classes = ${classes})`, {
          context: { index: i, label },
          hint: label === classes && !labels.includes(0)
            ? `labels start at 1; gradmesh expects 0..${classes - 1}: subtract 1 from every label`
            : `set dataset.classes to at least ${label + 1} if the data really has that many classes, or check the labels file`,
        });
      }
    }
    return classes;
  }
  let max = 0;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, labels[i] as number);
  return max + 1;
}
