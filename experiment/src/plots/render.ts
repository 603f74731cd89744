import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A rendered plot: its file stem, the SVG text and the PNG bytes. */
export interface RenderedPlot {
  readonly name: string;
  readonly svg: string;
  readonly png: Uint8Array;
}

/** Scale of the PNG relative to the SVG's size: crisp on high-density screens and in the README. */
const PNG_ZOOM = 2;

/**
 * Renders a Vega-Lite spec to SVG (vega's headless View, no canvas: text widths are estimated) and the SVG to PNG
 * (@resvg/resvg-js, with the system's fonts; the text of the PNG needs one sans-serif font installed, e.g. DejaVu).
 */
export async function renderVegaLite(name: string, spec: TopLevelSpec): Promise<RenderedPlot> {
  const { spec: compiled } = compile(spec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: PNG_ZOOM }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
    return { name, svg, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) };
  } finally {
    view.finalize();
  }
}
