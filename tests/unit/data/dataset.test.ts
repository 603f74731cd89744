import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Dataset } from '../../../shared/src/data/dataset.js';
import { validationSplitPoint } from '../../../shared/src/data/split.js';
import { DataError, InternalError } from '../../../shared/src/errors.js';

/** 5 samples of 2×2 uint8 pixels; sample i holds i*50 + [0, 1, 2, 3]; label i % 3. */
function tiny(): Dataset {
  const features = new Uint8Array(20);
  for (let i = 0; i < 5; i++) for (let k = 0; k < 4; k++) features[i * 4 + k] = i * 50 + k;
  return Dataset.create({ name: 'tiny', sampleShape: [2, 2], classes: 3, features, labels: Uint8Array.from([0, 1, 2, 0, 1]) });
}

describe('Dataset', () => {
  it('normalises every uint8 value v to exactly float32(v/255)', () => {
    const features = new Uint8Array(256);
    for (let v = 0; v < 256; v++) features[v] = v;
    const ds = Dataset.create({ name: 'ramp', sampleShape: [256], classes: 1, features, labels: new Uint8Array(1) });
    const out = new Float32Array(256);
    ds.gatherInputs([0], 0, 1, out);
    for (let v = 0; v < 256; v++) expect(out[v]).toBe(Math.fround(v / 255));
    expect(out[0]).toBe(0);
    expect(out[255]).toBe(1);
  });

  it('gathers indices[start..end) in the order given, row-major', () => {
    const ds = tiny();
    const out = new Float32Array(8);
    ds.gatherInputs([9, 3, 1, 9], 1, 3, out.fill(NaN)); // position 0 and 3 are outside the range and never read
    expect([...out].map((v) => Math.round(v * 255))).toEqual([150, 151, 152, 153, 50, 51, 52, 53]);
  });

  it('writes one-hot rows: a single 1 at the label, zeros elsewhere, overwriting old contents', () => {
    const ds = tiny();
    const out = new Float32Array(9).fill(7);
    ds.gatherOneHot([2, 0, 4], 0, 3, out);
    expect([...out]).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it('rejects an out-of-range sample index instead of reading past the data', () => {
    expect(() => tiny().gatherInputs([5], 0, 1, new Float32Array(4))).toThrow(DataError);
    expect(() => tiny().gatherInputs([0], 0, 1, new Float32Array(3))).toThrow(/out.length 4/);
  });

  it('rejects labels outside 0..classes−1 and features that do not fill count × sample shape', () => {
    expect(() => Dataset.create({ name: 'x', sampleShape: [2], classes: 2, features: new Uint8Array(4), labels: Uint8Array.from([0, 2]) })).toThrow(DataError);
    expect(() => Dataset.create({ name: 'x', sampleShape: [3], classes: 2, features: new Uint8Array(4), labels: Uint8Array.from([0, 1]) })).toThrow(/do not make 2 samples/);
  });

  it('subsets share the stored pixels and compose: a subset of a subset reads the right rows', () => {
    const ds = tiny();
    const sub = ds.subset([4, 2, 0]);
    const subsub = sub.subset([2, 0]);
    expect(subsub.count).toBe(2);
    expect([...subsub.labels]).toEqual([0, 1]);
    const out = new Float32Array(8);
    subsub.gatherInputs([0, 1], 0, 2, out);
    expect([...out].map((v) => Math.round(v * 255))).toEqual([0, 1, 2, 3, 200, 201, 202, 203]);
    expect(subsub.toShared().features.buffer).toBe(ds.toShared().features.buffer);
  });

  it('splits like Keras: the LAST fraction validates, in stored order, before any shuffling', () => {
    const ds = tiny();
    const { train, validation } = ds.split(0.4);
    expect(validationSplitPoint(5, 0.4)).toBe(3);
    expect(train.count).toBe(3);
    expect(validation.count).toBe(2);
    expect([...train.labels]).toEqual([0, 1, 2]);
    expect([...validation.labels]).toEqual([0, 1]);
    expect(validation.labelAt(0)).toBe(ds.labelAt(3));
    expect(() => ds.split(0.9)).toThrow(/leaves no training samples/); // floor(5 × 0.1) = 0
    expect(() => ds.split(1e-17)).toThrow(/leaves no validation samples/); // 1 − 1e-17 rounds to 1
  });

  it('toShared/fromShared, through structuredClone, views the same SharedArrayBuffer: writes show on both sides', () => {
    const ds = tiny().subset([1, 3]);
    const descriptor = structuredClone(ds.toShared());
    const again = Dataset.fromShared(descriptor);
    expect(descriptor.features.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(again.count).toBe(2);
    expect(again.sampleShape).toEqual([2, 2]);
    expect([...again.labels]).toEqual([1, 0]);
    // Same memory, not a copy: a write through the original descriptor is visible to the rebuilt view.
    new Uint8Array(ds.toShared().features.buffer)[4] = 255;
    const out = new Float32Array(4);
    again.gatherInputs([0], 0, 1, out);
    expect(out[0]).toBe(1);
  });

  it('float32 features are gathered as stored × scale', () => {
    const ds = Dataset.create({ name: 'f', sampleShape: [3], classes: 2, features: Float32Array.from([1, -2, 0.25]), labels: Int32Array.from([1]), scale: 4 });
    const out = new Float32Array(3);
    ds.gatherInputs([0], 0, 1, out);
    expect([...out]).toEqual([4, -8, 1]);
  });

  it('a descriptor posted to another thread shares the pixels: the thread sees them and its write comes back', async () => {
    const ds = tiny();
    // Plain JS in the thread: it only needs the descriptor's fields, which is the point of the descriptor.
    const thread = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const f = workerData.features;
       const px = new Uint8Array(f.buffer, f.byteOffset, f.length);
       const seen = Array.from(px.subarray(4, 8));
       px[0] = 77;
       parentPort.postMessage(seen);`,
      { eval: true, workerData: ds.toShared() },
    );
    const seen = await new Promise((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
    });
    await thread.terminate();
    expect(seen).toEqual([50, 51, 52, 53]);
    const out = new Float32Array(4);
    ds.gatherInputs([0], 0, 1, out);
    expect(out[0]).toBe(Math.fround(77 / 255));
  });
});
