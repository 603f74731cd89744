import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PageAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The page's own files live in dashboard/page (the same depth from src/server and dist/server). */
const PAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../page');

/**
 * Every file the page needs, by URL path, read once: the page itself and uPlot from node_modules — no CDN, so
 * the dashboard works offline. Nothing else is served.
 */
export function loadPageAssets(): ReadonlyMap<string, PageAsset> {
  const require = createRequire(import.meta.url);
  const uplotDir = path.dirname(require.resolve('uplot/package.json'));
  const file = (p: string, contentType: string): PageAsset => ({ contentType, body: readFileSync(p) });
  return new Map([
    ['/', file(path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8')],
    ['/dashboard.js', file(path.join(PAGE_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8')],
    ['/dashboard.css', file(path.join(PAGE_DIR, 'dashboard.css'), 'text/css; charset=utf-8')],
    ['/vendor/uPlot.iife.min.js', file(path.join(uplotDir, 'dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
    ['/vendor/uPlot.min.css', file(path.join(uplotDir, 'dist/uPlot.min.css'), 'text/css; charset=utf-8')],
  ]);
}
