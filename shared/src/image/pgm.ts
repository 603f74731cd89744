import type { GrayImage } from './gray-image.js';

/** Binary PGM (Netpbm "P5", maxval 255): an ASCII header, then the raw bytes row by row. */
export function encodePgm(image: GrayImage): Buffer {
  return Buffer.concat([Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'ascii'), image.pixels]);
}
