import { ShapeError } from '../errors.js';

/** An 8-bit grayscale raster, row-major, 0 = black, 255 = white: what every encoder here takes. */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

export function grayImage(width: number, height: number, pixels: Uint8Array): GrayImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || pixels.length !== width * height) {
    throw new ShapeError(`a ${width}×${height} gray image needs ${width * height} pixels, got ${pixels.length}`);
  }
  return { width, height, pixels };
}

/** A value in [0, 1] as a byte; out-of-range values are clamped and NaN becomes black. */
export function toByte(v: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  return Math.round(v * 255);
}
