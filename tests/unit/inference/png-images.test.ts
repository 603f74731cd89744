import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSampleShape, loadInferenceData } from '../../../shared/src/inference/inference-data.js';
import { DataError } from '../../../shared/src/errors.js';

let dir: string;

/** A PNG of `w`×`h` from a pixel function giving [r, g, b, a]; `colorType` 0 writes it as grayscale, 6 as RGBA. */
function writePng(file: string, w: number, h: number, pixel: (x: number, y: number) => [number, number, number, number], colorType: 0 | 6 = 6): string {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(pixel(x, y), 4 * (y * w + x));
  const target = path.join(dir, file);
  writeFileSync(target, PNG.sync.write(png, { colorType, inputHasAlpha: true }));
  return target;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-png-'));
  mkdirSync(path.join(dir, 'digits'));
  // A white diagonal on black, as grayscale and as RGBA; a half-transparent white pixel; a red one.
  writePng('digits/a.png', 4, 3, (x, y) => (x === y ? [255, 255, 255, 255] : [0, 0, 0, 255]), 0);
  writePng('digits/b.png', 4, 3, (x, y) => (x === 0 && y === 0 ? [255, 255, 255, 128] : x === 1 && y === 0 ? [255, 0, 0, 255] : [0, 0, 0, 255]));
  writePng('wide.png', 5, 3, () => [0, 0, 0, 255]);
  writeFileSync(path.join(dir, 'not-a.png'), 'hello');
  mkdirSync(path.join(dir, 'empty'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNG images as predict/evaluate input', () => {
  it('a directory gives one [height, width, 1] sample per image in name order: luminance over black through alpha, scaled by 1/255', () => {
    const { data, labelled } = loadInferenceData(path.join(dir, 'digits'), { trainedOn: 'mnist', classes: 10 });
    expect(labelled).toBe(false);
    expect(data.count).toBe(2);
    expect(data.sampleShape).toEqual([3, 4, 1]);
    const x = new Float32Array(24);
    data.gatherInputs([0, 1], 0, 2, x);
    const a = Array.from(x.subarray(0, 12), (v) => Math.round(v * 255));
    expect(a).toEqual([255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0]);
    const b = Array.from(x.subarray(12), (v) => Math.round(v * 255));
    expect(b.slice(0, 2)).toEqual([128, Math.round(0.299 * 255)]); // white at alpha 128/255; pure red's luminance
    expect(b.slice(2).every((v) => v === 0)).toBe(true);
  });

  it('one .png file is one sample; a model of another input shape is refused naming both shapes', () => {
    const { data } = loadInferenceData(path.join(dir, 'wide.png'), { trainedOn: 'mnist', classes: 10 });
    expect(data.sampleShape).toEqual([3, 5, 1]);
    expect(() => checkSampleShape(data, [28, 28, 1])).toThrow(/samples have shape \[3, 5, 1\] \(15 values\) but the model's input is \[28, 28, 1\] \(784 values\)/);
  });

  it('a file that is not a PNG, images of different sizes and a directory without images are refused naming the file', () => {
    expect(() => loadInferenceData(path.join(dir, 'not-a.png'), { trainedOn: 'mnist', classes: 10 })).toThrow(/not-a\.png: is not a readable PNG image/);
    writePng('digits/c.png', 5, 3, () => [0, 0, 0, 255]);
    try {
      expect(() => loadInferenceData(path.join(dir, 'digits'), { trainedOn: 'mnist', classes: 10 })).toThrow(/c\.png: is 5×3 pixels but a\.png is 4×3/);
    } finally {
      rmSync(path.join(dir, 'digits/c.png'));
    }
    expect(() => loadInferenceData(path.join(dir, 'empty'), { trainedOn: 'mnist', classes: 10 })).toThrow(DataError);
  });
});
