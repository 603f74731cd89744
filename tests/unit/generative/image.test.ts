import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../../shared/src/errors.js';
import { crc32 } from '../../../shared/src/image/crc32.js';
import { grayImage } from '../../../shared/src/image/gray-image.js';
import { tileGrid } from '../../../shared/src/image/grid.js';
import { encodePgm } from '../../../shared/src/image/pgm.js';
import { encodePng } from '../../../shared/src/image/png.js';
import { encodeSvg } from '../../../shared/src/image/svg.js';
import { writeImageGrid } from '../../../shared/src/image/write-grid.js';
import { Random } from '../../../shared/src/random.js';

/** A minimal PNG reader written from the spec, independent of the encoder: chunks, CRCs, IHDR, inflated rows. */
function decodePng(bytes: Buffer) {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: { type: string; data: Buffer }[] = [];
  let at = 8;
  while (at < bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('ascii', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(bytes.readUInt32BE(at + 8 + length), `CRC of ${type}`).toBe(zlibCrc32(bytes.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(at).toBe(bytes.length);
  expect(chunks[0]!.type).toBe('IHDR');
  expect(chunks[chunks.length - 1]!.type).toBe('IEND');
  const ihdr = chunks[0]!.data;
  const header = {
    width: ihdr.readUInt32BE(0), height: ihdr.readUInt32BE(4),
    bitDepth: ihdr[8], colorType: ihdr[9], compression: ihdr[10], filter: ihdr[11], interlace: ihdr[12],
  };
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  expect(raw.length).toBe(header.height * (header.width + 1));
  const pixels = new Uint8Array(header.width * header.height);
  for (let y = 0; y < header.height; y++) {
    expect(raw[y * (header.width + 1)], 'filter type None').toBe(0);
    pixels.set(raw.subarray(y * (header.width + 1) + 1, (y + 1) * (header.width + 1)), y * header.width);
  }
  return { header, pixels };
}

describe('image grid writer', () => {
  it('crc32 gives the standard check value and agrees with zlib on random data', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const rng = new Random(3);
    const data = Uint8Array.from({ length: 1000 }, () => rng.int(256));
    expect(crc32(data.subarray(0, 300), data.subarray(300))).toBe(zlibCrc32(data));
  });

  it('tiles images row by row with a gap of background gray, values clamped to [0, 1]', () => {
    // Two 2×2 images in 2 columns with gap 1: a 7×4 raster.
    const images = Float32Array.from([0, 1, 0.5, 2, /* second */ -1, 0.2, NaN, 1]);
    const grid = tileGrid(images, 2, 2, 2, 2, { gap: 1, background: 0.4 });
    const g = 102; // round(0.4·255)
    expect([grid.width, grid.height]).toEqual([7, 4]);
    expect(Array.from(grid.pixels)).toEqual([
      g, g, g, g, g, g, g,
      g, 0, 255, g, 0, 51, g,
      g, 128, 255, g, 0, 255, g,
      g, g, g, g, g, g, g,
    ]);
    // 5 images in 2 columns take 3 rows; the missing sixth tile stays background.
    expect(tileGrid(new Float32Array(5 * 4), 5, 2, 2, 2, { gap: 1 }).height).toBe(3 * 2 + 4);
    expect(() => tileGrid(new Float32Array(7), 2, 2, 2, 2)).toThrow(ShapeError);
  });

  it('PNG: signature, IHDR (8-bit grayscale, no interlace), valid CRCs, and the inflated rows are the pixels', () => {
    const rng = new Random(8);
    const image = grayImage(13, 7, Uint8Array.from({ length: 91 }, () => rng.int(256)));
    const { header, pixels } = decodePng(encodePng(image));
    expect(header).toEqual({ width: 13, height: 7, bitDepth: 8, colorType: 0, compression: 0, filter: 0, interlace: 0 });
    expect(Array.from(pixels)).toEqual(Array.from(image.pixels));
  });

  it('PGM is a P5 header and the raw bytes; SVG draws one rect per non-black run', () => {
    const image = grayImage(3, 2, Uint8Array.from([0, 7, 7, 255, 0, 0]));
    const pgm = encodePgm(image);
    expect(pgm.subarray(0, 11).toString('ascii')).toBe('P5\n3 2\n255\n');
    expect([...pgm.subarray(11)]).toEqual([0, 7, 7, 255, 0, 0]);
    const svg = encodeSvg(image).toString('utf8');
    expect(svg).toContain('viewBox="0 0 3 2"');
    expect(svg).toContain('<rect x="1" y="0" width="2" height="1" fill="#070707"/>');
    expect(svg).toContain('<rect x="0" y="1" width="1" height="1" fill="#ffffff"/>');
    expect(svg.match(/<rect /g)!.length).toBe(3); // background + two runs
  });

  it('writeImageGrid picks the format from the extension and refuses others before writing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-grid-'));
    const rng = new Random(5);
    const images = Float32Array.from({ length: 6 * 28 * 28 }, () => rng.next());
    await writeImageGrid(images, 6, 28, 28, 3, path.join(dir, 'grid.png'));
    const { header, pixels } = decodePng(readFileSync(path.join(dir, 'grid.png')));
    expect([header.width, header.height]).toEqual([3 * 28 + 4 * 2, 2 * 28 + 3 * 2]);
    expect(Array.from(pixels)).toEqual(Array.from(tileGrid(images, 6, 28, 28, 3).pixels));
    await writeImageGrid(images, 6, 28, 28, 3, path.join(dir, 'sub', 'grid.PGM'));
    expect(readFileSync(path.join(dir, 'sub', 'grid.PGM')).subarray(0, 2).toString()).toBe('P5');
    await writeImageGrid(images, 6, 28, 28, 3, path.join(dir, 'grid.svg'));
    expect(readFileSync(path.join(dir, 'grid.svg'), 'utf8')).toMatch(/^<svg /);
    await expect(writeImageGrid(images, 6, 28, 28, 3, path.join(dir, 'grid.jpg'))).rejects.toThrow(ConfigError);
    await expect(writeImageGrid(images, 6, 28, 28, 3, path.join(dir, 'grid.jpg'))).rejects.toThrow(/--out.*\.png, \.pgm or \.svg/);
    expect(existsSync(path.join(dir, 'grid.jpg'))).toBe(false);
  });
});
