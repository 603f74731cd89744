import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSampleShape, loadInferenceData } from '../../../shared/src/inference/inference-data.js';
import { topK } from '../../../cli/src/predictions.js';

let dir: string;

/** An IDX file: magic (0, 0, type 0x08 = uint8, rank), big-endian dims, then the bytes. */
function writeIdx(file: string, dims: number[], data: number[]): void {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  writeFileSync(path.join(dir, file), Buffer.concat([header, Buffer.from(data)]));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-inference-'));
  writeIdx('images.idx', [2, 2, 2], [0, 255, 0, 255, 255, 0, 255, 0]);
  writeIdx('labels.idx', [2], [1, 0]);
  writeFileSync(path.join(dir, 'small.csv'), 'x,y,label\n1,2,0\n3,4,1\n');
  writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ format: 'csv', train: 'small.csv', test: 'small.csv', labelColumn: 'label' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadInferenceData', () => {
  it('an IDX images file alone is unlabelled, scaled like training (uint8 / 255); with --labels it is labelled', () => {
    const alone = loadInferenceData(path.join(dir, 'images.idx'), { trainedOn: 'mnist', classes: 3 });
    expect(alone.labelled).toBe(false);
    expect(alone.data.sampleShape).toEqual([2, 2]);
    const x = new Float32Array(4);
    alone.data.gatherInputs([0], 0, 1, x);
    expect(Array.from(x)).toEqual([0, 1, 0, 1]);
    const paired = loadInferenceData(path.join(dir, 'images.idx'), { trainedOn: 'mnist', classes: 3, labels: path.join(dir, 'labels.idx') });
    expect(paired.labelled).toBe(true);
    expect(paired.data.labelAt(0)).toBe(1);
    expect(paired.data.classes).toBe(3);
  });

  it("a dataset spec's test split is widened to the model's classes (a test set may lack the last class), and refused when its labels exceed them", () => {
    expect(loadInferenceData(path.join(dir, 'spec.json'), { trainedOn: 'mnist', classes: 4 }).data.classes).toBe(4);
    expect(() => loadInferenceData(path.join(dir, 'spec.json'), { trainedOn: 'mnist', classes: 1 })).toThrow(/has labels up to 1 but the model has 1 output units/);
  });

  it("a CSV's label column comes from the checkpoint's dataset spec; without it the file is features only", () => {
    const trainedOn = { format: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 'y', scale: 0.5 };
    const r = loadInferenceData(path.join(dir, 'small.csv'), { trainedOn, classes: 5 });
    expect(r.labelled).toBe(true);
    expect(r.data.sampleShape).toEqual([2]);
    const x = new Float32Array(2);
    r.data.gatherInputs([1], 0, 1, x);
    expect(Array.from(x)).toEqual([1.5, 0.5]); // columns x and label (y is the label column here), scaled by 0.5
  });

  it('checkSampleShape accepts any shape of equal size and names both shapes otherwise', () => {
    const { data } = loadInferenceData(path.join(dir, 'images.idx'), { trainedOn: 'mnist', classes: 3 });
    expect(() => checkSampleShape(data, [4])).not.toThrow();
    expect(() => checkSampleShape(data, [2, 3])).toThrow(/samples have shape \[2, 2\] \(4 values\) but the model's input is \[2, 3\] \(6 values\)/);
  });
});

describe('topK', () => {
  it('best first; equal probabilities keep the lower class first (as argmax does)', () => {
    expect(topK([0.2, 0.5, 0.2, 0.1], 3)).toEqual([{ class: 1, probability: 0.5 }, { class: 0, probability: 0.2 }, { class: 2, probability: 0.2 }]);
  });
});

describe('loadInferenceData with the class names and task of a checkpoint', () => {
  const trainedOn = { format: 'csv', train: 'x', test: 'x', labelColumn: 'species' };
  const names = ['setosa', 'versicolor', 'virginica'];

  it('a CSV of class names is numbered by the model\'s names, even when it holds only some of them', () => {
    writeFileSync(path.join(dir, 'named.csv'), 'x,species\n1,virginica\n2,versicolor\n');
    const { data, labelled } = loadInferenceData(path.join(dir, 'named.csv'), { trainedOn, classes: 3, classNames: names });
    expect(labelled).toBe(true);
    expect([...data.labels]).toEqual([2, 1]);
    expect(data.classes).toBe(3);
  });

  it('a dataset spec whose files number other classes than the model\'s is refused, naming both lists', () => {
    writeFileSync(path.join(dir, 'two.csv'), 'x,species\n1,virginica\n2,versicolor\n');
    writeFileSync(path.join(dir, 'two.json'), JSON.stringify({ ...trainedOn, train: 'two.csv', test: 'two.csv' }));
    expect(() => loadInferenceData(path.join(dir, 'two.json'), { trainedOn, classes: 3, classNames: names })).toThrow(/has the classes "versicolor", "virginica" but the model was trained on "setosa", "versicolor", "virginica"/);
  });

  it('a label column named by number: a file with one column more than the model\'s input is labelled, one with exactly its input is not', () => {
    const byNumber = { format: 'csv', train: 'x', test: 'x', labelColumn: -1, header: false };
    writeFileSync(path.join(dir, 'n-labelled.csv'), '1,2,1\n3,4,0\n');
    writeFileSync(path.join(dir, 'n-features.csv'), '1,2\n3,4\n');
    const labelled = loadInferenceData(path.join(dir, 'n-labelled.csv'), { trainedOn: byNumber, classes: 2, inputSize: 2 });
    expect(labelled.labelled).toBe(true);
    expect([...labelled.data.labels]).toEqual([1, 0]);
    const features = loadInferenceData(path.join(dir, 'n-features.csv'), { trainedOn: byNumber, classes: 2, inputSize: 2 });
    expect(features.labelled).toBe(false);
    expect(features.data.count).toBe(2);
  });

  it('a regression checkpoint reads the label column as targets; featureColumns of training select the features of an unlabelled file', () => {
    const regression = { format: 'csv', train: 'x', test: 'x', labelColumn: 'y', featureColumns: ['b', 'a'] };
    writeFileSync(path.join(dir, 'reg.csv'), 'a,b,y\n1,2,0.5\n3,4,1.5\n');
    const labelled = loadInferenceData(path.join(dir, 'reg.csv'), { trainedOn: regression, classes: 1, task: 'regression' });
    expect(labelled.data.task).toBe('regression');
    expect(labelled.data.targetAt(1)).toBe(1.5);
    writeFileSync(path.join(dir, 'reg-features.csv'), 'a,c,b\n1,9,2\n');
    const unlabelled = loadInferenceData(path.join(dir, 'reg-features.csv'), { trainedOn: regression, classes: 1, task: 'regression' });
    expect(unlabelled.labelled).toBe(false);
    const x = new Float32Array(2);
    unlabelled.data.gatherInputs([0], 0, 1, x);
    expect([...x]).toEqual([2, 1]);
  });
});
