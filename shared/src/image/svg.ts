import type { GrayImage } from './gray-image.js';

/**
 * An SVG with one unit square per pixel, drawn as horizontal runs of equal gray (one <rect> per
 * run) on a black background, so mostly dark MNIST-like grids stay small. `crispEdges` keeps
 * viewers from blurring the pixel boundaries; `scale` sets the displayed size per pixel.
 */
export function encodeSvg(image: GrayImage, scale = 4): Buffer {
  const { width, height, pixels } = image;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width * scale}" height="${height * scale}" viewBox="0 0 ${width} ${height}" shape-rendering="crispEdges">`,
    `<rect width="${width}" height="${height}" fill="#000"/>`,
  ];
  for (let y = 0; y < height; y++) {
    let x = 0;
    while (x < width) {
      const v = pixels[y * width + x]!;
      let end = x + 1;
      while (end < width && pixels[y * width + end] === v) end++;
      if (v !== 0) parts.push(`<rect x="${x}" y="${y}" width="${end - x}" height="1" fill="${hex(v)}"/>`);
      x = end;
    }
  }
  parts.push('</svg>\n');
  return Buffer.from(parts.join('\n'), 'utf8');
}

function hex(v: number): string {
  const h = v.toString(16).padStart(2, '0');
  return `#${h}${h}${h}`;
}
