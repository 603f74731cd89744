import { ShapeError } from '../errors.js';
import type { GrayImage } from './gray-image.js';
import { grayImage, toByte } from './gray-image.js';

export interface GridStyle {
  /** Pixels between tiles and around the border (default 2). */
  readonly gap?: number;
  /** Gray of the gaps, in [0, 1] (default 0.5, so black-background tiles stay distinguishable). */
  readonly background?: number;
}

/**
 * Lays `count` images [count, height, width] (values in [0, 1]) out row by row in `columns`
 * columns: a pure function from floats to one gray raster, shared by every file format.
 */
export function tileGrid(images: Float32Array, count: number, height: number, width: number, columns: number, style: GridStyle = {}): GrayImage {
  for (const [name, v] of [['count', count], ['height', height], ['width', width], ['columns', columns]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`image grid: ${name} must be a positive integer, got ${v}`);
  }
  if (images.length !== count * height * width) {
    throw new ShapeError(`image grid: ${count} images of ${height}×${width} need ${count * height * width} values, got ${images.length}`);
  }
  const gap = style.gap ?? 2;
  const cols = Math.min(columns, count);
  const rows = Math.ceil(count / cols);
  const gridWidth = cols * width + (cols + 1) * gap;
  const gridHeight = rows * height + (rows + 1) * gap;
  const pixels = new Uint8Array(gridWidth * gridHeight).fill(toByte(style.background ?? 0.5));
  for (let n = 0; n < count; n++) {
    const left = gap + (n % cols) * (width + gap);
    const top = gap + Math.floor(n / cols) * (height + gap);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) pixels[(top + y) * gridWidth + left + x] = toByte(images[(n * height + y) * width + x]!);
    }
  }
  return grayImage(gridWidth, gridHeight, pixels);
}
