import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkChecks, listOurNamespaces, namespacePrefix, namespacesUnavailable, routeExists, ScalingResults } from '@gradmesh/experiment';
import { GRADMESH_BIN } from '../../helpers/cli.js';
import { imageCsv, mlpConfig } from '../cluster/harness.js';

/**
 * `gradmesh experiment scaling` end to end on a tiny model: the real CLI starts nats-server(s), a coordinator
 * and N workers per combination; results.json must satisfy the contract, hold every combination, and its bytes
 * per link must match the topology formulas. On loopback (no root needed) the bytes come from NATS
 * monitoring; as root a second run uses network namespaces and must leave none of them, nor the guard route.
 */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-scaling-test-'));
  writeFileSync(path.join(dir, 'train.csv'), imageCsv(4000, 6, 1));
  writeFileSync(path.join(dir, 'test.csv'), imageCsv(90, 6, 2));
  // 4000 samples, batch 32: no epoch ends (no validation pass) inside the 3 + 60 steps of a combination. A wide
  // hidden layer (41 k parameters, a 164 kB gradient) keeps the control messages (step commands, replies,
  // heartbeats: ~1 kB a step) to ~1 % of the link bytes, which the formulas leave out.
  const model = { kind: 'sequential', inputShape: [36], layers: [{ type: 'dense', units: 1024, activation: 'relu' }, { type: 'dense', units: 3 }] };
  writeFileSync(path.join(dir, 'mlp.json'), JSON.stringify(mlpConfig({ epochs: 1, batchSize: 32 }, { model })));
  // Through nats-server: on loopback the servers' monitoring is all there is to count bytes with.
  writeFileSync(path.join(dir, 'mlp-nats.json'), JSON.stringify(mlpConfig({ epochs: 1, batchSize: 32, allreduce: { transport: 'nats' } }, { model })));
  writeFileSync(path.join(dir, 'long.json'), JSON.stringify(mlpConfig({ epochs: 100, batchSize: 32 }, { model })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI without blocking the test worker (a blocked worker misses vitest's RPC deadlines). */
function scaling(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return scalingOf('mlp.json', ...args);
}

function scalingOf(config: string, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    // 60 measured steps: the bytes of the step in flight at each reading are exact within ±2 steps of the window
    // (Note [what a measurement window is]), ±3.3 % here; with 20 the 10 % checks sat at the edge (10.6 % seen).
    const child = spawn(process.execPath, [GRADMESH_BIN, 'experiment', 'scaling', '--config', config, '--steps', '60', '--warmup', '3', '--threads', '1', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 300_000);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr })));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readResults(out: string): ScalingResults {
  return ScalingResults.parse(JSON.parse(readFileSync(path.join(dir, out, 'results.json'), 'utf8')));
}

describe('gradmesh experiment scaling', () => {
  it('on loopback, through nats-server: results.json satisfies the contract, holds every (topology, N), and the servers’ bytes match the formulas within 10 %', async () => {
    const r = await scalingOf('mlp-nats.json', '--workers', '1,2', '--topology', 'hub,per-host', '--network', 'loopback', '--out', 'lo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[4\/4\] N=2 per-host: [0-9.]+ samples\/s/);
    const results = readResults('lo');
    expect(results.runs.map((x) => [x.topology, x.workers, x.network, x.steps])).toEqual([
      ['hub', 1, 'loopback', 60],
      ['hub', 2, 'loopback', 60],
      ['per-host', 1, 'loopback', 60],
      ['per-host', 2, 'loopback', 60],
    ]);
    expect(results.model.gradientBytes).toBe(results.model.parameters * 4);
    expect(results.model.transport).toBe('nats');
    for (const run of results.runs) {
      expect(run.samplesPerSec).toBeGreaterThan(0);
      expect(run.stepSeconds.p90).toBeGreaterThanOrEqual(run.stepSeconds.median);
      expect(Object.keys(run.cpuSecondsPerRole).sort()).toEqual(['coordinator', 'nats-server', 'worker']);
    }
    // Loopback: the hub server's /varz, per-host the servers' routes (/routez).
    expect(results.runs[1]!.linkBytes.map((l) => l.host)).toEqual(['nats']);
    expect(results.runs[3]!.linkBytes.map((l) => l.host)).toEqual(['w0', 'w1']);
    const checks = linkChecks(results);
    expect(checks.length).toBe(2 + 4);
    for (const c of checks) expect(Math.abs(c.error), `${c.topology} ${c.host} ${c.direction}`).toBeLessThan(0.1);
    expect(readFileSync(path.join(dir, 'lo', 'results.md'), 'utf8')).toMatch(/\| 2 \| per-host \| loopback \| unshaped \|/);
    // The plots, drawn by Vega-Lite: SVG documents and PNG files.
    for (const name of ['throughput-efficiency', 'step-breakdown']) {
      expect(readFileSync(path.join(dir, 'lo', `${name}.svg`), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      expect(readFileSync(path.join(dir, 'lo', `${name}.png`)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    }
  });

  it.skipIf(namespacesUnavailable() !== undefined)('as root, on emulated hosts over direct links (the default): every worker host link matches the formulas within 10 %, the hub server carries no gradient, and no namespace or guard route is left', async () => {
    const before = listOurNamespaces();
    const r = await scaling('--workers', '2', '--topology', 'hub,per-host', '--network', 'netns', '--link', '1gbit', '--out', 'ns');
    expect(r.code, r.stderr).toBe(0);
    const results = readResults('ns');
    expect(results.runs.map((x) => [x.topology, x.network, x.link.rateBitsPerSec])).toEqual([['hub', 'netns', 1e9], ['per-host', 'netns', 1e9]]);
    expect(results.runs[0]!.linkBytes.map((l) => l.host)).toEqual(['w0', 'w1', 'nats']);
    expect(results.model.transport).toBe('direct');
    // Workers' host links in both topologies (the hub server is not on the data path: Note [two paths for the same pieces]).
    const checks = linkChecks(results);
    expect(checks.length).toBe(4 + 4);
    const hubServer = results.runs[0]!.linkBytes.find((l) => l.host === 'nats')!;
    expect(hubServer.txBytes / results.runs[0]!.steps).toBeLessThan(0.05 * results.model.gradientBytes);
    for (const c of checks) expect(Math.abs(c.error), `${c.topology} ${c.host} ${c.direction}`).toBeLessThan(0.1);
    expect(listOurNamespaces().filter((n) => !before.includes(n))).toEqual([]);
    if (before.length === 0) expect(routeExists('10.77.0.0/16')).toBe(false);
  });

  it.skipIf(namespacesUnavailable() !== undefined)('Ctrl-C in the middle of a run: exit 130, its namespaces, their processes and the guard route are gone', async () => {
    const before = listOurNamespaces();
    const child = spawn(process.execPath, [GRADMESH_BIN, 'experiment', 'scaling', '--config', 'long.json', '--workers', '2', '--network', 'netns', '--steps', '100000', '--out', 'int'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const prefix = namespacePrefix(child.pid!);
    // Interrupt once the run is training inside its namespaces.
    for (let i = 0; i < 600 && !/N=2 hub: (warm-up [1-9]|measuring)/.test(stderr); i++) await new Promise((r) => setTimeout(r, 200));
    const ours = listOurNamespaces().filter((n) => n.startsWith(prefix));
    expect(ours.length, stderr).toBe(4);
    const pids = ours.flatMap((ns) => spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number));
    expect(pids.length).toBeGreaterThanOrEqual(4); // nats-server, the coordinator, two workers
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(listOurNamespaces().filter((n) => n.startsWith(prefix))).toEqual([]);
    if (before.length === 0) expect(routeExists('10.77.0.0/16')).toBe(false);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('bad input is one line and exit code 2, before anything starts', async () => {
    const topo = await scaling('--workers', '2', '--topology', 'star', '--out', 'x');
    expect(topo.code).toBe(2);
    expect(topo.stderr).toMatch(/--topology.*hub, per-host/);
    const link = await scaling('--workers', '2', '--link', '1gbps', '--out', 'x');
    expect(link.code).toBe(2);
    expect(link.stderr).toMatch(/--link/);
    const missing = await scaling('--workers', '2');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--out.*is required/);
  });
});
