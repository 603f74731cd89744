import { z } from 'zod';
import { nonEmptyString, options, positive, positiveInt } from '../config/schema-parts.js';

const classes = positiveInt().optional().describe('Number of classes; without it each split infers max label + 1 and the two must agree.');
const path = () => nonEmptyString().describe('Path of the file, relative to the config file.');
const idxFiles = options({ images: path(), labels: path() });

const DATASET_SHAPES = '"mnist" or an object with a "format" of "idx" or "csv"';

/**
 * The `dataset` of a run config (file existence and the agreement of the two splits are checked when
 * the data is loaded, in source.ts):
 *
 *   "mnist"
 *   { "format": "idx", "train": { "images": p, "labels": p }, "test": { "images": p, "labels": p }, "classes"?: n }
 *   { "format": "csv", "train": p, "test": p, "labelColumn": name, "scale"?: x, "classes"?: n }
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
            labelColumn: nonEmptyString().describe('Name of the label column.'),
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
