import { readFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { renderScalingPlots } from '../../../experiment/src/plots/scaling-plots.js';
import { ScalingResults } from '../../../experiment/src/scaling-results.js';
import { calibrate } from '../../../experiment/src/simulator/calibrate.js';
import { project, validate } from '../../../experiment/src/simulator/predictions.js';

const fixture = ScalingResults.parse(JSON.parse(readFileSync(new URL('../../fixtures/scaling-results.fixture.json', import.meta.url), 'utf8')));
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the PNG's IHDR chunk (bytes 16–23). */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('renderScalingPlots', () => {
  it('renders the four plots as valid SVG and PNG (twice the SVG size), with their titles and axes', async () => {
    const c = calibrate(fixture);
    const validation = validate(fixture, c);
    const projection = project(c, { workers: [1, 2, 4, 8, 16, 32, 64, 128, 256], topologies: ['hub', 'per-host'], links: [{ rateBitsPerSec: 1e9, delaySeconds: 0 }, { rateBitsPerSec: 1e10, delaySeconds: 0 }], overlap: 0, serverCores: 4 });
    const plots = await renderScalingPlots(fixture, { validation, projection });
    expect(plots.map((p) => p.name)).toEqual(['throughput-efficiency', 'step-breakdown', 'measured-vs-simulated', 'projected-efficiency']);
    const expectedText = [['samples/s', 'efficiency'], ['compute', 'all-reduce', 'wait'], ['Measured vs simulated', 'median step time'], ['Predicted scaling efficiency to 256', '128']];
    plots.forEach((plot, i) => {
      const root = /^<svg[^>]*\swidth="([0-9.]+)"[^>]*\sheight="([0-9.]+)"/.exec(plot.svg);
      expect(root, plot.name).not.toBeNull();
      expect(plot.svg.trimEnd().endsWith('</svg>')).toBe(true);
      // resvg parses the SVG as XML and throws on a malformed one.
      const parsed = new Resvg(plot.svg);
      expect(parsed.width).toBeCloseTo(Number(root?.[1]), 0);
      for (const text of expectedText[i] as string[]) expect(plot.svg, `${plot.name} shows "${text}"`).toContain(text);
      expect([...plot.png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      const size = pngSize(plot.png);
      expect(size.width).toBe(Math.round(2 * Number(root?.[1])));
      expect(size.height).toBe(Math.round(2 * Number(root?.[2])));
      expect(plot.png.byteLength).toBeGreaterThan(10_000);
    });
  });

  it('negative control: the SVG check rejects malformed SVG', () => {
    expect(() => new Resvg('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><g></svg>')).toThrow();
  });

  it('draws only the measured plots without simulator output', async () => {
    const plots = await renderScalingPlots(fixture);
    expect(plots.map((p) => p.name)).toEqual(['throughput-efficiency', 'step-breakdown']);
  });
});
