import { deflateSync } from 'node:zlib';
import { crc32 } from './crc32.js';
import type { GrayImage } from './gray-image.js';

/** The eight bytes every PNG starts with (they catch text-mode and 7-bit transfer damage). */
export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** IHDR colour type 0: grayscale, one sample per pixel. */
const GRAYSCALE = 0;

/**
 * An 8-bit grayscale PNG (RFC 2083 / ISO 15948) with no dependency beyond node:zlib's deflate:
 * IHDR, one IDAT, IEND. Every scanline uses filter type 0 (None): the images are small and
 * readability of the encoder matters more than a few percent of file size.
 */
export function encodePng(image: GrayImage): Buffer {
  const { width, height, pixels } = image;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = GRAYSCALE;
  header[10] = 0; // compression method: deflate
  header[11] = 0; // filter method: adaptive (per-row filter byte)
  header[12] = 0; // no interlace
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter type None
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** length (4, big-endian) · type (4 ASCII) · data · CRC-32 of type + data. */
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4, 8), data), 0);
  return Buffer.concat([head, data, crc]);
}
