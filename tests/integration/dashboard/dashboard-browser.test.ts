import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';
import { CHROMIUM, CHROMIUM_ARGS, startGradmesh, writeCsvRun } from './watch-harness.js';

/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core), on real runs of
 * the built CLI. The page's CSP forbids eval, so checks poll locators rather than evaluate strings. Screenshots land in reports/ (look at them: the README's docs/dashboard.png is one).
 */
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) console.warn(`dashboard browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
const REPORTS = path.join(process.cwd(), 'reports');

let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-dashboard-'));
  mkdirSync(REPORTS, { recursive: true });
  if (haveBrowser) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

const lossPoints = (page: Page) => page.locator('#chart-loss').getAttribute('data-points').then(Number);

describe.skipIf(!haveBrowser)('the dashboard in a real browser', () => {
  it('draws the loss chart of a live train run, and a late viewer gets the history', async () => {
    const config = writeCsvRun(dir, 'csv-live', 15, 40_000);
    const run = startGradmesh(dir, ['train', '--config', config, '--dashboard', '0', '--dashboard-linger', '30']);
    try {
      const url = (await run.waitFor(/dashboard: (http:\/\/\S+)/))[1]!;
      const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
      await page.goto(url);
      await expect.poll(() => lossPoints(page), { timeout: 60_000, interval: 100 }).toBeGreaterThan(10);
      const liveWhileRunning = !run.stderr().includes('run ended');
      const pointsBefore = await lossPoints(page);
      expect(await page.locator('#chart-loss canvas').count()).toBe(1);
      await run.waitFor(/run ended; the dashboard stays/);
      await expect.poll(() => page.locator('#eval-line').textContent(), { timeout: 10_000, interval: 100 }).toMatch(/test evaluation/);
      // The live page kept receiving updates after it first drew (a viewer that arrives mid-run is not frozen).
      if (liveWhileRunning) expect(await lossPoints(page)).toBeGreaterThan(pointsBefore);
      expect(await page.locator('#confusion table td').count()).toBeGreaterThan(9);
      await page.screenshot({ path: path.join(REPORTS, 'dashboard-train.png'), fullPage: true });
      // A viewer that arrives after the run: the bounded history, epochs and the confusion matrix included.
      const late = await browser.newPage();
      await late.goto(url);
      await expect.poll(() => lossPoints(late), { timeout: 10_000, interval: 100 }).toBeGreaterThan(10);
      expect(await late.locator('#epochs-table tbody tr').count()).toBe(15);
      expect(await lossPoints(late)).toBeGreaterThan(100);
      expect(await late.locator('#run-line').textContent()).toMatch(/^completed/);
      console.log(`live viewer saw points while the run was going: ${liveWhileRunning}`);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('lists every rank of a launch --workers 2 run in the worker table, with its step-time breakdown', async () => {
    const config = writeCsvRun(dir, 'csv-cluster', 5);
    const run = startGradmesh(dir, ['launch', '--config', config, '--workers', '2', '--dashboard', '0', '--dashboard-linger', '30']);
    try {
      const url = (await run.waitFor(/launch: dashboard at (http:\/\/\S+)/))[1]!;
      await run.waitFor(/\[coordinator\] dashboard: /);
      const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
      await page.goto(url);
      await expect.poll(() => page.locator('#workers-table tbody tr').count(), { timeout: 60_000, interval: 100 }).toBe(2);
      await expect.poll(() => lossPoints(page), { timeout: 60_000, interval: 100 }).toBeGreaterThan(50);
      const rows = page.locator('#workers-table tbody tr');
      const ranks = [await rows.nth(0).getAttribute('data-rank'), await rows.nth(1).getAttribute('data-rank')];
      expect(ranks).toEqual(['0', '1']);
      expect(await page.locator('#events-table tbody').textContent()).toMatch(/generation/);
      await run.waitFor(/run ended; the dashboard stays/);
      await expect.poll(() => page.locator('#eval-line').textContent(), { timeout: 10_000, interval: 100 }).toMatch(/test evaluation/);
      await page.screenshot({ path: path.join(REPORTS, 'dashboard-launch.png'), fullPage: true });
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('gradmesh dashboard <report.json> serves a finished run: its epochs, workers and confusion matrix', async () => {
    const config = writeCsvRun(dir, 'csv-report', 3);
    const trained = runGradmesh(dir, ['train', '--config', config, '--report', 'finished.json']);
    expect(trained.code, trained.stderr).toBe(0);
    const serve = startGradmesh(dir, ['dashboard', 'finished.json', '--listen', '0']);
    try {
      const url = (await serve.waitFor(/dashboard: (http:\/\/\S+)/))[1]!;
      const page = await browser.newPage();
      await page.goto(url);
      await expect.poll(() => page.locator('#epochs-table tbody tr').count(), { timeout: 10_000, interval: 100 }).toBe(3);
      expect(await page.locator('#confusion table td').count()).toBeGreaterThan(9);
      expect(await page.locator('#run-line').textContent()).toMatch(/^completed/);
    } finally {
      serve.child.kill('SIGINT');
      expect(await serve.exited).toBe(0);
    }
  });
});
