import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { DataError } from '../errors.js';
import { Dataset } from '../data/dataset.js';
import { readDataFile } from '../data/read-file.js';

/**
 * PNG images as samples for `predict`/`evaluate` (`--data digit.png` or `--data dir/` with its *.png files,
 * in name order). Each image becomes one sample of shape [height, width, 1]: its luminance (ITU-R BT.601
 * weights of R, G, B, the usual grayscale), composited over black through its alpha, as uint8 pixels that
 * the dataset scales by 1/255 like MNIST's. So white strokes on a black background — MNIST's convention —
 * is what an MNIST model expects; a dark-on-light scan must be inverted first.
 *
 * Decoding is pngjs's (every PNG colour type and bit depth, palette and interlacing included); a file that
 * is not a PNG, or whose size differs from the first image's, is refused naming the file.
 */
export function loadPngImages(target: string, classes: number): Dataset {
  const files = pngFiles(target);
  let width = 0;
  let height = 0;
  let pixels = new Uint8Array(0);
  files.forEach((file, i) => {
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(readDataFile(file)));
    } catch (cause) {
      throw new DataError(file, `is not a readable PNG image (${(cause as Error).message})`);
    }
    if (i === 0) {
      ({ width, height } = png);
      pixels = new Uint8Array(files.length * width * height);
    } else if (png.width !== width || png.height !== height) {
      throw new DataError(file, `is ${png.width}×${png.height} pixels but ${path.basename(files[0]!)} is ${width}×${height}`, { hint: 'every image of one --data must have the same size' });
    }
    const rgba = png.data;
    const out = pixels.subarray(i * width * height, (i + 1) * width * height);
    for (let p = 0; p < out.length; p++) {
      const r = rgba[4 * p]!;
      const g = rgba[4 * p + 1]!;
      const b = rgba[4 * p + 2]!;
      const a = rgba[4 * p + 3]!;
      out[p] = Math.round(((0.299 * r + 0.587 * g + 0.114 * b) * a) / 255);
    }
  });
  return Dataset.create({ name: target, sampleShape: [height, width, 1], classes, features: pixels, labels: new Uint8Array(files.length) });
}

/** `target` itself when it is a file, else the directory's *.png files in name order (at least one). */
export function pngFiles(target: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch {
    throw new DataError(target, 'does not exist');
  }
  if (!isDirectory) return [target];
  const files = readdirSync(target)
    .filter((name) => name.toLowerCase().endsWith('.png'))
    .sort()
    .map((name) => path.join(target, name));
  if (files.length === 0) throw new DataError(target, 'is a directory without .png files', { hint: '--data takes a .json spec, a .csv, an IDX file, a .png image or a directory of .png images' });
  return files;
}

/** Whether `--data` names PNG input: a .png file or a directory. */
export function isPngInput(target: string): boolean {
  if (target.toLowerCase().endsWith('.png')) return true;
  try {
    return statSync(target).isDirectory();
  } catch {
    return false;
  }
}
