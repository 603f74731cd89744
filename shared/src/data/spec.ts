import { z } from 'zod';
import { nonEmptyString, options, positive, positiveInt } from '../config/schema-parts.js';

const classes = positiveInt().optional().describe('Number of classes; without it each split infers max label + 1 and the two must agree.');
const path = () => nonEmptyString().describe('Path of the file, relative to the config file.');
const idxFiles = options({ images: path(), labels: path() });

const column = z.union([nonEmptyString(), z.int()], { error: 'must be a column name or a column number (0 = the first, −1 = the last)' });

const DATASET_SHAPES = '"mnist" or an object with a "format" of "idx" or "csv"';

/**
 * The `dataset` of a run config (file existence and the agreement of the two splits are checked when
 * the data is loaded, in source.ts):
 *
 *   "mnist"
 *   { "format": "idx", "train": { "images": p, "labels": p }, "test": { "images": p, "labels": p }, "classes"?: n }
 *   { "format": "csv", "train": p, "test": p, "labelColumn": name | number, "header"?: bool, "featureColumns"?: [name | number], "scale"?: x, "classes"?: n }
 */
export const datasetSpec = z
  .union(
    [
      z.literal('mnist'),
      z.discriminatedUnion(
        'format',
        [
          options({
            format: z.literal('idx'),
            train: idxFiles.describe('The training split: an object { "images": path, "labels": path }.'),
            test: idxFiles.describe('The test split: an object { "images": path, "labels": path }.'),
            classes,
          }),
          options({
            format: z.literal('csv'),
            train: path(),
            test: path(),
            labelColumn: column.describe('The label column: its header name, or its number counting from 0 (−1 = the last column).'),
            header: z.boolean().default(true).describe('Whether the first row names the columns (default true); without one, name columns by number.'),
            featureColumns: z
              .array(column, { error: 'must be an array of column names or numbers' })
              .min(1, { error: 'must name at least one column' })
              .optional()
              .describe('The feature columns, in the order the model sees them (default: every column but the label, in file order).'),
            scale: positive().default(1).describe('Features are multiplied by this (e.g. 1/255).'),
            classes,
          }),
        ],
        { error: (issue) => ((issue.code as string) === 'invalid_type' ? `must be ${DATASET_SHAPES}` : undefined) },
      ),
    ],
    { error: `must be ${DATASET_SHAPES}` },
  )
  .describe('The data: "mnist" (downloaded once) or IDX / CSV files.');

export type DatasetSpec = z.output<typeof datasetSpec>;
