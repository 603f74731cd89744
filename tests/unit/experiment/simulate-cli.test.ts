import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLinks, parseWorkers } from '../../../experiment/src/simulator/flags.js';
import { runGradmesh } from '../../helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/scaling-results.fixture.json', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('simulator flags', () => {
  it('--workers takes lists and doubling ranges', () => {
    expect(parseWorkers('1..256')).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
    expect(parseWorkers('3..10')).toEqual([3, 6, 10]);
    expect(parseWorkers('4,2,3,2')).toEqual([2, 3, 4]);
    expect(parseWorkers('1,3,8..32')).toEqual([1, 3, 8, 16, 32]);
    for (const bad of ['0', '4..2', 'two', '1..', '1,,2', '1..70000']) expect(() => parseWorkers(bad), bad).toThrow(/--workers/);
  });

  it('--link takes rates and one delay', () => {
    expect(parseLinks('1gbit,10gbit')).toEqual([{ rateBitsPerSec: 1e9, delaySeconds: 0 }, { rateBitsPerSec: 1e10, delaySeconds: 0 }]);
    expect(parseLinks('100mbit,unshaped,2ms')).toEqual([{ rateBitsPerSec: 1e8, delaySeconds: 0.002 }, { rateBitsPerSec: null, delaySeconds: 0.002 }]);
    for (const bad of ['1gbt', '2ms', '1gbit,1ms,2ms', '0gbit']) expect(() => parseLinks(bad), bad).toThrow(/--link/);
  });
});

describe('gradmesh experiment simulate', () => {
  it('exits 2 with one line naming the flag for bad --workers, --topology, --link or --overlap, before reading the file', () => {
    for (const [flag, value] of [['--workers', '0..8'], ['--topology', 'star'], ['--link', 'fast'], ['--overlap', '1.5']] as const) {
      const r = runGradmesh(dir, ['experiment', 'simulate', '--calibration', 'missing.json', flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(flag);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('exits 2 naming the file and field for a missing or malformed calibration file', () => {
    expect(runGradmesh(dir, ['experiment', 'simulate']).code).toBe(2);
    const missing = runGradmesh(dir, ['experiment', 'simulate', '--calibration', 'missing.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing\.json: cannot be read/);
    const bad = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    bad.runs[2].workers = 0;
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
    const r = runGradmesh(dir, ['experiment', 'simulate', '--calibration', 'bad.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: runs\.2\.workers/);
  });

  it('prints validation and projection tables and writes predictions.json, predictions.md and the plots', () => {
    const out = path.join(dir, 'out');
    const r = runGradmesh(dir, ['experiment', 'simulate', '--calibration', FIXTURE, '--workers', '1..64', '--topology', 'hub,per-host', '--link', '1gbit,10gbit', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Validation target (N = 2, 3, 4 within 20 %)');
    const predictions = JSON.parse(readFileSync(path.join(out, 'predictions.json'), 'utf8'));
    // 7 worker counts × 2 topologies × 2 links; every measured run validated.
    expect(predictions.projection).toHaveLength(28);
    expect(predictions.validation).toHaveLength(8);
    expect(predictions.projection.filter((p: { workers: number }) => p.workers === 1).every((p: { efficiency: number }) => p.efficiency === 1)).toBe(true);
    for (const name of ['throughput-efficiency', 'step-breakdown', 'measured-vs-simulated', 'projected-efficiency']) {
      expect(existsSync(path.join(out, `${name}.svg`))).toBe(true);
      expect(existsSync(path.join(out, `${name}.png`))).toBe(true);
    }
    expect(readFileSync(path.join(out, 'predictions.md'), 'utf8')).toContain('![projected-efficiency](projected-efficiency.png)');
  });
});
