import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { GrayImage } from './gray-image.js';
import type { GridStyle } from './grid.js';
import { tileGrid } from './grid.js';
import { encodePgm } from './pgm.js';
import { encodePng } from './png.js';
import { encodeSvg } from './svg.js';

const ENCODERS: Readonly<Record<string, (image: GrayImage) => Buffer>> = {
  '.png': encodePng,
  '.pgm': encodePgm,
  '.svg': (image) => encodeSvg(image),
};

/** The encoder for a file name, by extension (case-insensitive); anything else is a ConfigError on `--out`. */
export function encoderFor(file: string): (image: GrayImage) => Buffer {
  const ext = path.extname(file).toLowerCase();
  const encoder = Object.hasOwn(ENCODERS, ext) ? ENCODERS[ext] : undefined;
  if (!encoder) {
    throw new ConfigError('--out', 'must name a .png, .pgm or .svg file', { value: file, hint: 'the extension chooses the image format' });
  }
  return encoder;
}

/**
 * Writes `count` images [count, height, width] with values in [0, 1] as one grid picture of
 * `columns` columns, in the format the extension of `file` names (.png, .pgm or .svg).
 * The format is checked before any work, so a typo fails fast.
 */
export async function writeImageGrid(
  images: Float32Array, count: number, height: number, width: number, columns: number, file: string, style: GridStyle = {},
): Promise<void> {
  const encode = encoderFor(file);
  const bytes = encode(tileGrid(images, count, height, width, columns, style));
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, bytes);
}
