import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRADMESH_BIN } from '../../helpers/cli.js';
import { imageCsv, mlpConfig } from '../cluster/harness.js';

/**
 * `gradmesh launch --topology per-host`: one nats-server per worker, clustered by routes. The topology changes
 * which server a byte crosses, never what is summed: the run must end with the same parameters as the hub's.
 */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-per-host-test-'));
  writeFileSync(path.join(dir, 'train.csv'), imageCsv(200, 6, 1));
  writeFileSync(path.join(dir, 'test.csv'), imageCsv(60, 6, 2));
  writeFileSync(path.join(dir, 'mlp.json'), JSON.stringify(mlpConfig({ epochs: 1, batchSize: 16, microBatch: 8 })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI without blocking the test worker (a blocked worker misses vitest's RPC deadlines). */
function launch(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GRADMESH_BIN, 'launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 300_000);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr })));
  });
}

describe('gradmesh launch --topology per-host', () => {
  it('runs on a cluster of one server per worker and ends with the hub run’s parameters', async () => {
    const perHost = await launch('--topology', 'per-host', '--report', 'per-host.json');
    expect(perHost.code, perHost.stderr).toBe(0);
    expect(perHost.stderr).toMatch(/launch: 2 clustered nats-server .* on nats:\/\/127\.0\.0\.1:\d+, nats:\/\/127\.0\.0\.1:\d+ \(one per worker/);
    const hub = await launch('--report', 'hub.json');
    expect(hub.code, hub.stderr).toBe(0);
    const a = JSON.parse(readFileSync(path.join(dir, 'per-host.json'), 'utf8'));
    const b = JSON.parse(readFileSync(path.join(dir, 'hub.json'), 'utf8'));
    expect(a.replicaChecksumsAgree).toBe(true);
    expect(a.steps).toBe(b.steps);
    expect(a.paramsChecksum).toBe(b.paramsChecksum);
  });

  it('refuses the nats checkpoint store (no JetStream on the per-host servers) and an unknown topology, exit 2', async () => {
    const store = await launch('--topology', 'per-host', '--checkpoint-store', 'nats');
    expect(store.code).toBe(2);
    expect(store.stderr).toMatch(/--topology: per-host .*JetStream/);
    const bad = await launch('--topology', 'ring');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--topology: must be hub or per-host/);
  });
});
