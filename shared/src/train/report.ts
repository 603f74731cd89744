import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EpochRecord } from './history.js';

/**
 * The run report: a fixed contract that later tools read (`gradmesh train --report`,
 * `gradmesh launch --report`). Fields are added over time, never renamed or removed.
 */
export interface RunReport {
  /** Path of the config file, as given (relative to the working directory). */
  config: string;
  /** Absolute path of the config file. */
  configPath?: string;
  /** The version of gradmesh that wrote the report (package.json). */
  gradmeshVersion?: string;
  /** The task of the run: classification (default) or regression. */
  task?: 'classification' | 'regression';
  /** The config's `name`, e.g. `mnist-cnn`. */
  model: string;
  modelKind: 'sequential' | 'autoencoder' | 'vae';
  parameters: number;
  /** `mnist`, or the train file(s) of an IDX/CSV data set. */
  dataset: string;
  workers: number;
  backend: string;
  threads: number;
  epochs: number;
  steps: number;
  globalBatchSize: number;
  /** Names of the classes 0..C−1 when the data named them (string CSV labels). */
  classNames?: string[];
  /** 0..1, classification models; null otherwise. */
  testAccuracy: number | null;
  testLoss: number;
  trainSamplesPerSec: number;
  wallSeconds: number;
  /** sha256 hex of all parameters as little-endian float32, in layer order. */
  paramsChecksum: string;
  history: { epoch: number; trainLoss: number; trainAccuracy: number | null; valLoss: number | null; valAccuracy: number | null; seconds: number }[];
  /** Regression: mean absolute error, root mean squared error and R² on the test set (instead of accuracy). */
  testMae?: number;
  testRmse?: number;
  testR2?: number | null;
  /** Autoencoders: mean squared error per pixel on the test set. */
  testReconstructionMse?: number;
  /** VAEs: per-image negative ELBO, KL and reconstruction (nats) on the test set. */
  testNegElbo?: number;
  testKl?: number;
  testReconstruction?: number;
  /** Per-class precision/recall/F1 on the test set (classification). */
  testPerClass?: { precision: number; recall: number; f1: number; support: number }[];
  confusionMatrix?: number[][];
  stoppedEarly?: boolean;
  /** Steps whose update the NaN/Inf guard skipped (non-finite gradient), and which; ranks = those whose local gradient was not finite. */
  skippedSteps?: number;
  skipped?: { step: number; ranks: number[] }[];
  finishedAt: string;
  [extra: string]: unknown;
}

export function historyForReport(history: readonly EpochRecord[]): RunReport['history'] {
  return history.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, trainAccuracy: h.trainAccuracy, valLoss: h.valLoss, valAccuracy: h.valAccuracy, seconds: h.seconds }));
}

/** Writes JSON atomically: a reader never sees a half-written report, and a failed run leaves the old one. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}
