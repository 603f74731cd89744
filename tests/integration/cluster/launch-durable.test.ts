import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsObjectCheckpointStore } from '../../../transport/src/jetstream/nats-object-checkpoint-store.js';
import { RunStateStore } from '../../../transport/src/jetstream/run-state-store.js';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * `gradmesh launch` with durable state and its lifecycle: checkpoints in the run's NATS Object Store bucket
 * and `--resume` from it; a failed run's report; and no process it started outlives it — after success, after
 * a failure, after Ctrl-C, and within 20 s of a `kill -9` of the launcher itself.
 */
let h: ClusterHarness;
let config: string;
let long: string;

beforeAll(async () => {
  h = await ClusterHarness.start(true);
  writeImageData(h, 400);
  // 320 training samples, batch 16 → 20 steps an epoch; microBatch 8 → one micro-batch per rank with N = 2.
  config = h.file('mlp.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8, checkpointEverySteps: 5 }));
  long = h.file('long.json', mlpConfig({ epochs: 50, batchSize: 8, validationSplit: 0.2, microBatch: 4 }));
});
afterAll(async () => h?.close());

function gradmesh(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: h.dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, GRADMESH_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every process on the machine whose command line names `marker` (the run id: launch passes it to each child and to nats-server's store path). */
function processesOf(marker: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .filter((line) => line.includes(marker) && !/^\s*\d+\s+Z/.test(line))
    .map((line) => line.trim());
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** A `launch` of the long config in the background, its output collected; resolves once training runs. */
async function startLongLaunch(runId: string, extra: readonly string[] = []) {
  const child = spawn(process.execPath, [CLI, 'launch', '--config', long, '--workers', '2', '--threads', '1', '--run', runId, ...extra], { cwd: h.dir, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  expect(await waitFor(() => /epoch 1\/50/.test(output), 60_000), output).toBe(true);
  return { child, exited, output: () => output };
}

describe('gradmesh launch: checkpoints in NATS', () => {
  it('writes checkpoints to the run\'s Object Store bucket (keeping the last 3) and records the run state; --resume from it ends with the uninterrupted paramsChecksum', async () => {
    const full = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'full.json');
    expect(full.code, full.stderr).toBe(0);
    const runId = h.runId('durable');
    const first = gradmesh('launch', '--nats', h.url, '--run', runId, '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--checkpoint-store', 'nats', '--max-steps', '23');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toMatch(/checkpoint nats:gradmesh-durable-\S+-checkpoints\/ckpt-0000000020\.safetensors \(step 20\)/);
    // A nats store on a server of the user's own outlives the launch: launch says how to resume it.
    expect(first.stderr).toContain(`launch: stopped at step 23 (--max-steps); checkpoint nats:gradmesh-${runId}-checkpoints/ckpt-0000000023.safetensors; resume with: gradmesh launch --config mlp.json --workers 2 --nats ${h.url} --run ${runId} --checkpoint-store nats --resume`);

    const nc = await connect({ servers: h.url });
    try {
      const store = await NatsObjectCheckpointStore.open(nc, runId);
      // The epoch-end and every-5-steps checkpoints, then the one written where --max-steps stopped the run (the last 3 kept).
      expect((await store.list()).map((c) => c.step)).toEqual([15, 20, 23]);
      const state = await (await RunStateStore.open(nc, runId)).read();
      expect(state).toEqual({ finished: true, generation: 1, world: 2, committedStep: 23, latestCheckpoint: 'ckpt-0000000023.safetensors' });
    } finally {
      await nc.close();
    }

    const resumed = gradmesh('launch', '--nats', h.url, '--run', runId, '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--checkpoint-store', 'nats', '--resume', '--report', 'resumed.json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed from nats:gradmesh-durable-\S+\/ckpt-0000000023\.safetensors at step 23 .*\n.*repeats 0 steps/);
    const a = JSON.parse(readFileSync(h.path('full.json'), 'utf8'));
    const b = JSON.parse(readFileSync(h.path('resumed.json'), 'utf8'));
    expect(b.status).toBe('completed');
    expect(b.steps).toBe(40);
    expect(b.paramsChecksum).toBe(a.paramsChecksum);
  });

  it('--resume with the nats store but launch\'s own (empty) server is refused in one line, exit 2', () => {
    const r = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--resume');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--resume.*needs --nats <url> and --run <id>/);
  });
});

describe('gradmesh launch: nothing it started outlives it', () => {
  it('after a successful run no coordinator, worker or nats-server of the run is left; the report says completed', () => {
    const runId = h.runId('ok');
    const r = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--run', runId, '--report', 'ok.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/JetStream in /);
    expect(processesOf(runId)).toEqual([]);
    expect(readdirSync(os.tmpdir()).filter((name) => name.startsWith(`gradmesh-${runId}-`))).toEqual([]);
    expect(JSON.parse(readFileSync(h.path('ok.json'), 'utf8')).status).toBe('completed');
  });

  it('after a failed run nothing is left, and the report has status "failed" and the error', () => {
    h.file('broken.csv', 'a,b\n1,2\n');
    const broken = h.file('broken.json', { ...(mlpConfig({ epochs: 1, batchSize: 16 }) as object), dataset: { format: 'csv', train: 'broken.csv', test: 'test.csv', labelColumn: 'label' } });
    const runId = h.runId('fail');
    const r = gradmesh('launch', '--config', broken, '--workers', '2', '--threads', '1', '--run', runId, '--report', 'failed.json', '--join-timeout', '20');
    expect(r.code, r.stderr).toBe(1);
    expect(processesOf(runId)).toEqual([]);
    const report = JSON.parse(readFileSync(h.path('failed.json'), 'utf8'));
    expect(report.status).toBe('failed');
    expect(report.runId).toBe(runId);
    expect(report.error).toMatch(/failed/);
  });

  it('after Ctrl-C (SIGINT) the coordinator is interrupted, the workers exit, nats-server stops: nothing is left when launch returns', async () => {
    const runId = h.runId('sigint');
    const run = await startLongLaunch(runId);
    expect(processesOf(runId).length).toBeGreaterThanOrEqual(4); // nats-server (+ watchdog), coordinator, 2 workers
    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.output()).toMatch(/\[coordinator\] gradmesh: ClusterError: interrupted by SIGINT/);
    expect(processesOf(runId)).toEqual([]);
  });

  it('kill -9 of the launcher leaves no coordinator, worker or nats-server behind within 20 s', async () => {
    const runId = h.runId('kill9');
    const run = await startLongLaunch(runId);
    const before = processesOf(runId);
    expect(before.some((p) => /nats-server/.test(p)), before.join('\n')).toBe(true);
    expect(before.filter((p) => /gradmesh\.js (coordinator|worker)/.test(p))).toHaveLength(3);
    run.child.kill('SIGKILL');
    await run.exited;
    const gone = await waitFor(() => processesOf(runId).length === 0, 20_000);
    expect(gone, processesOf(runId).join('\n')).toBe(true);
    // The watchdog also removed the launch's temporary directory (the JetStream store).
    expect(readdirSync(os.tmpdir()).filter((name) => name.startsWith(`gradmesh-${runId}-`))).toEqual([]);
  });

  it('kill -9 of the launcher of a run on an external NATS server (which stays up): the coordinator and workers still exit within 20 s', async () => {
    const runId = h.runId('kill9ext');
    const run = await startLongLaunch(runId, ['--nats', h.url]);
    expect(processesOf(runId).filter((p) => /gradmesh\.js (coordinator|worker)/.test(p))).toHaveLength(3);
    run.child.kill('SIGKILL');
    await run.exited;
    const gone = await waitFor(() => processesOf(runId).length === 0, 20_000);
    expect(gone, processesOf(runId).join('\n')).toBe(true);
  });
});
