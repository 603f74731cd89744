import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';
import { startGradmesh, writeCsvRun } from './watch-harness.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-metrics-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool) console.warn('promtool check skipped: no promtool on PATH (apt-get install -y prometheus)');

async function scrape(url: string): Promise<string> {
  return (await fetch(url)).text();
}
function sample(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm'));
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * A viewer that completes the WebSocket handshake and then never reads again: its queue can only grow. A raw
 * socket, so nothing on the client side drains it.
 */
function slowViewer(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.once('data', (d) => {
      if (!d.toString().startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${d.toString().split('\r\n')[0]}`));
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe('metrics, status and slow viewers', () => {
  it('the metrics endpoint passes promtool, its counters move, and a viewer that stops reading is dropped without stopping the run', async () => {
    const config = writeCsvRun(dir, 'csv-metrics', 20, 40_000);
    // Baseline: the same run with no dashboard at all.
    const baseline = runGradmesh(dir, ['train', '--config', config, '--report', 'baseline.json']);
    expect(baseline.code, baseline.stderr).toBe(0);
    const run = startGradmesh(dir, ['train', '--config', config, '--report', 'watched.json', '--dashboard', '0', '--dashboard-queue', '65536', '--metrics', '0', '--dashboard-linger', '15']);
    let viewer: net.Socket | undefined;
    try {
      const metricsUrl = (await run.waitFor(/metrics: (http:\/\/\S+)/))[1]!;
      const dashboardUrl = (await run.waitFor(/dashboard: (http:\/\/\S+)/))[1]!;
      viewer = await slowViewer(dashboardUrl);
      const first = await scrape(metricsUrl);
      await run.waitFor(/run ended; the dashboard stays/);
      const last = await scrape(metricsUrl);
      expect(sample(last, 'gradmesh_steps_total')).toBeGreaterThan(sample(first, 'gradmesh_steps_total'));
      expect(sample(last, 'gradmesh_samples_total')).toBeGreaterThan(0);
      expect(last).toMatch(/^gradmesh_step_phase_seconds_count\{phase="compute",rank="0"\} [1-9]/m);
      expect(last).toMatch(/^gradmesh_skipped_steps_total 0$/m);
      expect(last).toMatch(/^gradmesh_process_cpu_seconds_total /m);
      expect(last, 'the slow viewer was dropped').toMatch(/^gradmesh_dashboard_viewers_dropped_total\{reason="slow"\} 1$/m);
      if (promtool) {
        writeFileSync(path.join(dir, 'metrics.txt'), last);
        const check = spawnSync('promtool', ['check', 'metrics'], { input: last, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toBe('');
        expect(check.status).toBe(0);
      }
      const watched = JSON.parse(readFileSync(path.join(dir, 'watched.json'), 'utf8'));
      const base = JSON.parse(readFileSync(path.join(dir, 'baseline.json'), 'utf8'));
      expect(watched.paramsChecksum).toBe(base.paramsChecksum);
      // Speed is not asserted here (CONTRIBUTING: no timing assertions); the comparison is printed.
      console.log(`slow viewer: ${watched.steps} steps, train samples/s ${Math.round(watched.trainSamplesPerSec)} with a stalled viewer vs ${Math.round(base.trainSamplesPerSec)} without (${((watched.trainSamplesPerSec / base.trainSamplesPerSec - 1) * 100).toFixed(1)} %)`);
    } finally {
      viewer?.destroy();
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('gradmesh status --json reports world, generation, step, epoch, loss, throughput and per-worker health of a launch run', async () => {
    const config = writeCsvRun(dir, 'csv-status', 3);
    // launch's server is authenticated: it prints the status identity's credentials file for `gradmesh status`.
    const run = startGradmesh(dir, ['launch', '--config', config, '--workers', '2', '--run', 'status-test', '--dashboard', '0', '--dashboard-linger', '20']);
    try {
      const nats = (await run.waitFor(/nats-server \S+ on (nats:\/\/\S+)/))[1]!;
      const creds = (await run.waitFor(/gradmesh status --nats \S+ --run status-test --nats-creds (\S+)/))[1]!;
      await run.waitFor(/run ended; the dashboard stays/);
      const anonymous = runGradmesh(dir, ['status', '--nats', nats, '--run', 'status-test', '--json']);
      expect(anonymous.code).not.toBe(0); // refused without credentials
      const r = runGradmesh(dir, ['status', '--nats', nats, '--run', 'status-test', '--json', '--nats-creds', creds]);
      expect(r.code, r.stderr).toBe(0);
      const status = JSON.parse(r.stdout);
      for (const field of ['run', 'state', 'world', 'generation', 'step', 'epoch', 'epochs', 'loss', 'samplesPerSec', 'workers']) expect(status, field).toHaveProperty(field);
      expect(status).toMatchObject({ run: 'status-test', state: 'completed', world: 2, generation: 1, epoch: 3, epochs: 3 });
      expect(status.step).toBeGreaterThan(0);
      expect(status.workers.map((w: { rank: number; health: string }) => [w.rank, w.health])).toEqual([[0, 'ok'], [1, 'ok']]);
      const text = runGradmesh(dir, ['status', '--nats', nats, '--run', 'status-test', '--nats-creds', creds]);
      expect(text.stdout).toMatch(/^run status-test: completed, world 2, generation 1/);
      // Another run's status is not this identity's to ask for: the server refuses it.
      const other = runGradmesh(dir, ['status', '--nats', nats, '--run', 'no-such-run', '--timeout', '1', '--nats-creds', creds]);
      expect(other.code).not.toBe(0);
      expect(other.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('bad --dashboard and --metrics values fail in one line with exit code 2', () => {
    const config = writeCsvRun(dir, 'csv-bad', 1);
    const r = runGradmesh(dir, ['train', '--config', config, '--dashboard', 'localhost:99999']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--dashboard: port must be in \[0, 65535\]/);
    expect(runGradmesh(dir, ['train', '--config', config, '--metrics', 'a b']).code).toBe(2);
    expect(runGradmesh(dir, ['status']).code).toBe(2);
  });
});
