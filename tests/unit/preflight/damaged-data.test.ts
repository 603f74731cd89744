import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, GradmeshError } from '../../../shared/src/errors.js';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { preflightRun } from '../../../shared/src/preflight/preflight.js';
import { idxBytes, tempDir, type TempDir } from '../data/fixtures.js';

// Issue 12: each loader tried with damaged and mismatched files as a new user would. Every case must be
// refused by the preflight (before any training) with an input error (exit 2) whose one line names the
// file, the offending value and its position.

let dir: TempDir;
beforeAll(() => (dir = tempDir()));
afterAll(() => dir.remove());

const model = (inputShape: number[], units: number) => ({ kind: 'sequential', inputShape, layers: [{ type: 'dense', units }] });

function preflightCsv(train: string, test: string, units = 3, features = 2): () => unknown {
  const trainFile = dir.write(`train-${Math.random().toString(36).slice(2)}.csv`, train);
  const testFile = dir.write(`test-${Math.random().toString(36).slice(2)}.csv`, test);
  const config = parseRunConfig({
    dataset: { format: 'csv', train: trainFile, test: testFile, labelColumn: 'label' },
    model: model([features], units), loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.1 }, backend: 'reference',
  }, { baseDir: dir.path });
  return () => preflightRun({ config });
}

function preflightIdx(files: { trainImages: Buffer; trainLabels: Buffer; testImages?: Buffer; testLabels?: Buffer }, inputShape: number[], units: number): () => unknown {
  const tag = Math.random().toString(36).slice(2);
  const w = (name: string, bytes: Buffer) => dir.write(`${tag}-${name}`, bytes);
  const config = parseRunConfig({
    dataset: {
      format: 'idx',
      train: { images: w('train-images', files.trainImages), labels: w('train-labels', files.trainLabels) },
      test: { images: w('test-images', files.testImages ?? files.trainImages), labels: w('test-labels', files.testLabels ?? files.trainLabels) },
    },
    model: model(inputShape, units), loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.1 }, backend: 'reference',
  }, { baseDir: dir.path });
  return () => preflightRun({ config });
}

/** The one-line input error `run` throws; fails when it throws nothing or a non-input error. */
function refusal(run: () => unknown): GradmeshError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'the preflight let the damaged file through').toBeInstanceOf(GradmeshError);
  const error = thrown as GradmeshError;
  expect(['E_CONFIG', 'E_DATA']).toContain(error.code);
  expect(error.message).not.toContain('\n');
  return error;
}

const images = (count: number, side = 2) => idxBytes(0x08, [count, side, side], Array.from({ length: count * side * side }, (_, i) => i % 256));
const labels = (values: number[]) => idxBytes(0x08, [values.length], values);

describe('IDX files as a new user damages them', () => {
  it('a truncated images file is refused naming the file and the declared vs actual bytes', () => {
    const e = refusal(preflightIdx({ trainImages: images(4).subarray(0, 20), trainLabels: labels([0, 1, 2, 0]) }, [4], 3));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/train-images: truncated: header says 4×2×2 = 16 bytes of data but the file has 4/);
  });

  it('a wrong magic number is refused naming the bytes found', () => {
    const bad = Buffer.from(images(4));
    bad[0] = 0x50;
    bad[1] = 0x4b;
    expect(refusal(preflightIdx({ trainImages: bad, trainLabels: labels([0, 1, 2, 0]) }, [4], 3)).message).toMatch(/train-images: not an IDX file: the magic number starts with 0x50 0x4B/);
  });

  it('a header count that disagrees with the file size (more data than declared) is refused', () => {
    expect(refusal(preflightIdx({ trainImages: Buffer.concat([images(4), Buffer.alloc(8)]), trainLabels: labels([0, 1, 2, 0]) }, [4], 3)).message).toMatch(/train-images: 8 unexpected trailing bytes/);
  });

  it('an images count different from the labels count is refused naming both files and counts', () => {
    expect(refusal(preflightIdx({ trainImages: images(4), trainLabels: labels([0, 1, 2]) }, [4], 3)).message).toMatch(/train-images: has 4 images but the labels file .*train-labels has 3 labels/);
  });

  it('a label the model cannot output is refused naming the labels, the sample index and the value', () => {
    const e = refusal(preflightIdx({ trainImages: images(4), trainLabels: labels([0, 1, 7, 0]) }, [4], 3));
    expect(e.message).toMatch(/train-images: sample 2: label 7 is outside 0\.\.2, the classes the model outputs \(its last layer has 3 units\)/);
  });

  it('labels 1..K get the hint that gradmesh expects 0..K-1', () => {
    const e = refusal(preflightIdx({ trainImages: images(4), trainLabels: labels([1, 2, 3, 1]) }, [4], 3));
    expect(e.message).toMatch(/sample 2: label 3 is outside 0\.\.2.*labels start at 1; gradmesh expects 0\.\.2/);
  });

  it('a NaN or Infinity in a float32 images file is refused naming the sample and element', () => {
    const values = [0, 0.5, 1, 0.25, 0, Number.NaN, 0, 0];
    expect(refusal(preflightIdx({ trainImages: idxBytes(0x0d, [2, 2, 2], values), trainLabels: labels([0, 1]) }, [4], 2)).message).toMatch(/train-images: sample 1, element 1: value NaN is not a finite number/);
    const inf = [0, 0, 0, Number.POSITIVE_INFINITY, 0, 0, 0, 0];
    expect(refusal(preflightIdx({ trainImages: idxBytes(0x0d, [2, 2, 2], inf), trainLabels: labels([0, 1]) }, [4], 2)).message).toMatch(/sample 0, element 3: value Infinity is not a finite number/);
  });

  it('train and test samples of different shapes (same size) are refused naming both shapes', () => {
    const test = idxBytes(0x08, [4, 1, 4], Array.from({ length: 16 }, () => 0));
    expect(refusal(preflightIdx({ trainImages: images(4), trainLabels: labels([0, 1, 2, 0]), testImages: test }, [4], 3)).message).toMatch(/test-images: has samples of shape \[1, 4\] but the training set .*train-images has \[2, 2\]/);
  });

  it('a model input that does not hold one sample is refused naming both shapes', () => {
    expect(refusal(preflightIdx({ trainImages: images(4), trainLabels: labels([0, 1, 2, 0]) }, [9], 3)).message).toMatch(/model\.inputShape: is \[9\] \(9 values per sample\) but the samples of .*train-images have shape \[2, 2\] \(4 values\)/);
  });
});

describe('CSV files as a new user damages them', () => {
  const good = 'a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n';

  it('a ragged row is refused naming the line and the field counts', () => {
    expect(refusal(preflightCsv('a,b,label\n0.1,0.2,0\n0.3,1\n', good)).message).toMatch(/train-.*\.csv: line 3: has 2 fields but the header has 3/);
  });

  it('a non-numeric cell is refused naming line, column and value', () => {
    expect(refusal(preflightCsv('a,b,label\n0.1,abc,0\n', good)).message).toMatch(/line 2, column "b"(?: \(2\))?: "abc" is not a number/);
  });

  it('NaN and Infinity cells are refused naming line, column and value', () => {
    expect(refusal(preflightCsv('a,b,label\n0.1,NaN,0\n', good)).message).toMatch(/line 2, column "b"(?: \(2\))?: "NaN" is not a number/);
    expect(refusal(preflightCsv('a,b,label\n0.1,0.2,0\nInfinity,0.2,1\n', good)).message).toMatch(/line 3, column "a"(?: \(1\))?: "Infinity" is not a number/);
  });

  it('an empty file is refused', () => {
    expect(refusal(preflightCsv('', good)).message).toMatch(/train-.*\.csv: is empty; a header row naming the columns is required/);
  });

  it('a missing label column is refused listing the columns the file has', () => {
    expect(refusal(preflightCsv('a,b,c\n0.1,0.2,0\n', good)).message).toMatch(/has no column "label"; its columns are: a, b, c/);
  });

  it('negative and non-integer labels are refused naming line and value', () => {
    expect(refusal(preflightCsv('a,b,label\n0.1,0.2,-1\n', good)).message).toMatch(/line 2(?:, column "label" \(3\))?: label "-1" is not an integer class index ≥ 0/);
    expect(refusal(preflightCsv('a,b,label\n0.1,0.2,1.5\n', good)).message).toMatch(/line 2(?:, column "label" \(3\))?: label "1.5" is not an integer class index ≥ 0/);
  });

  it('labels beyond the model\'s classes are refused naming the sample and value', () => {
    const e = refusal(preflightCsv(good, 'a,b,label\n0.1,0.2,0\n0.1,0.2,5\n'));
    expect(e.message).toMatch(/test-.*\.csv: has labels 0\.\.5 but the training set .* has labels 0\.\.2/);
  });

  it('a test file with another number of features than the training file is refused naming both', () => {
    expect(refusal(preflightCsv(good, 'a,b,c,label\n0.1,0.2,0.3,0\n')).message).toMatch(/test-.*\.csv: has samples of shape \[3\] but the training set .*train-.*\.csv has \[2\]|has 3 features per sample but the training set/);
  });

  it('labels 1..3 for a 3-unit model are refused with the hint that labels start at 0', () => {
    const shifted = 'a,b,label\n0.1,0.2,1\n0.3,0.4,2\n0.5,0.6,3\n';
    expect(refusal(preflightCsv(shifted, shifted)).message).toMatch(/sample 2: label 3 is outside 0\.\.2.*labels start at 1; gradmesh expects 0\.\.2: subtract 1 from every label/);
  });

  it('an undamaged pair passes and is returned (the negative control of the cases above)', () => {
    const result = preflightCsv(good, good)() as { data: { train: { count: number } } };
    expect(result.data.train.count).toBe(3);
  });
});
