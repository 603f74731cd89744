import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../cli/src/launch/free-port.js';
import { readCheckpoint } from '../../../shared/src/checkpoint/store.js';
import { checkpointFileName } from '../../../shared/src/checkpoint/naming.js';
import { runGradmesh } from '../../helpers/cli.js';
import { ClusterHarness, mlpConfig, Proc, writeImageData } from './harness.js';

/**
 * A cluster configured the way a container is (issue 13, "Configuration for containers"): the coordinator and
 * a worker take every option from GRADMESH_* variables, both serve /healthz and /readyz on --health-port, log
 * one JSON object per line with --log-format json, and SIGTERM to the coordinator stops the run at a step
 * boundary after writing a resumable checkpoint.
 *
 * 1000 rows, validationSplit 0.2 → 100 steps an epoch, 4 epochs, a checkpoint every 50 steps: the SIGTERM
 * lands mid-run.
 */
let h: ClusterHarness;
let config: string;

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 1000);
  config = h.file('mlp.json', mlpConfig({ epochs: 4, batchSize: 8, validationSplit: 0.2, microBatch: 4, checkpointEverySteps: 50 }));
});
afterAll(async () => h?.close());

interface Answer {
  readonly status: number;
  readonly body: { ready?: boolean; reason?: string; status?: string };
}

async function probe(port: number, endpoint: '/healthz' | '/readyz'): Promise<Answer | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${endpoint}`);
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  } catch {
    return undefined; // not listening yet
  }
}

/** Polls `endpoint` until `until` holds for an answer (bounded by `proc` exiting or 60 s); returns that answer. */
async function probeUntil(proc: Proc, port: number, endpoint: '/healthz' | '/readyz', until: (a: Answer) => boolean): Promise<Answer> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await probe(port, endpoint);
    if (answer !== undefined && until(answer)) return answer;
    if (!proc.running() || Date.now() > deadline) throw new Error(`${proc.name}: ${endpoint} never answered as expected (last: ${JSON.stringify(answer)}); output:\n${proc.output.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('configuration for containers', () => {
  it('configured from GRADMESH_* variables: /readyz goes 503 → 200 as the run forms, /healthz is 200, json logs parse; SIGTERM to the coordinator writes a resumable checkpoint and stops', async () => {
    const runId = h.runId('container');
    const dir = h.path('ckpt-container');
    const [coordinatorPort, w0Port, w1Port] = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const common = { ...h.env, GRADMESH_NATS_URL: h.url, GRADMESH_RUN: runId, GRADMESH_CHECKPOINT_DIR: dir, GRADMESH_HEALTH_HOST: '127.0.0.1', GRADMESH_LOG_FORMAT: 'json', GRADMESH_HEARTBEAT_TIMEOUT: '3' };
    const spawn = (name: string, args: string[], env: NodeJS.ProcessEnv): Proc => {
      const p = new Proc(name, args, h.dir, env);
      h.procs.push(p);
      return p;
    };
    // Only variables, no flags: what a pod spec gives.
    const coordinator = spawn('coordinator', ['coordinator'], { ...common, GRADMESH_CONFIG: config, GRADMESH_WORKERS: '2', GRADMESH_HEALTH_PORT: String(coordinatorPort), GRADMESH_STEP_TIMEOUT: '20' });

    const alive = await probeUntil(coordinator, coordinatorPort, '/healthz', () => true);
    expect(alive.status).toBe(200);
    expect(alive.body.status).toBe('alive');
    const waiting = await probeUntil(coordinator, coordinatorPort, '/readyz', () => true);
    expect(waiting.status).toBe(503);
    expect(waiting.body).toMatchObject({ ready: false });
    expect(waiting.body.reason).toMatch(/^(connecting to NATS|waiting for workers: [01] of 2 joined)$/);

    // w0 alone cannot get a rank (the run wants 2): it is alive and not ready.
    const w0 = spawn('w0', ['worker'], { ...common, GRADMESH_ID: 'w0', GRADMESH_THREADS: '1', GRADMESH_HEALTH_PORT: String(w0Port) });
    expect((await probeUntil(w0, w0Port, '/healthz', () => true)).status).toBe(200);
    const unassigned = await probeUntil(w0, w0Port, '/readyz', () => true);
    expect(unassigned.status).toBe(503);
    expect(unassigned.body.reason).toBe(`waiting for a rank in run "${runId}"`);
    // w1 mixes: flags win over the variables (its GRADMESH_ID would collide with w0's, its port is the flag's).
    const w1 = spawn('w1', ['worker', '--id', 'w1', '--health-port', String(w1Port), '--log-format', 'text'], { ...common, GRADMESH_ID: 'w0', GRADMESH_THREADS: '1', GRADMESH_HEALTH_PORT: String(w0Port) });

    const formed = await probeUntil(coordinator, coordinatorPort, '/readyz', (a) => a.status === 200);
    expect(formed.body.reason).toMatch(/^generation 1, world 2, step \d+/);
    const w0Ready = await probeUntil(w0, w0Port, '/readyz', (a) => a.status === 200);
    expect(w0Ready.body.reason).toMatch(/^rank [01] of 2, generation 1, step -?\d+$/);
    expect((await probeUntil(w1, w1Port, '/readyz', (a) => a.status === 200)).body.ready).toBe(true);

    await coordinator.waitFor(/"event":"checkpoint"[^\n]*"step":100\b/, 120_000);
    coordinator.signal('SIGTERM');
    const exit = await coordinator.exit(60_000);
    expect(exit.code, coordinator.output).toBe(1);
    for (const w of [w0, w1]) expect((await w.exit(30_000)).code).toBe(1);

    // Every stderr line of the coordinator and w0 is one JSON object; w1 asked for text with its flag.
    expect(coordinator.stdout).toBe('');
    const lines = jsonLines(coordinator.stderr);
    for (const l of lines) expect(Object.keys(l).slice(0, 3)).toEqual(['time', 'level', 'role']);
    expect(lines.every((l) => l['role'] === 'coordinator')).toBe(true);
    expect(lines[0]).toMatchObject({ event: 'started', run: runId, minWorkers: 2, maxWorkers: 2, checkpoints: `dir:${dir}`, health: { host: '127.0.0.1', port: coordinatorPort } });
    expect(lines.some((l) => l['event'] === 'epoch' && l['epoch'] === 1 && typeof l['trainLoss'] === 'number')).toBe(true);
    const stopping = lines.find((l) => /^coordinator: SIGTERM: stopping after the step in flight and writing a checkpoint/.test(String(l['msg'])));
    expect(stopping, coordinator.stderr).toBeDefined();
    const written = lines.map((l) => /^coordinator: checkpoint of step (\d+) written to (\S+); continue with --resume$/.exec(String(l['msg']))).find((m) => m !== null);
    expect(written, coordinator.stderr).toBeDefined();
    const step = Number(written![1]);
    expect(step).toBeGreaterThanOrEqual(100);
    expect(existsSync(written![2]!)).toBe(true);
    expect(path.basename(written![2]!)).toBe(checkpointFileName(step));
    expect((await readCheckpoint(written![2]!)).tensors.length).toBeGreaterThan(0); // decodes: what --resume restores
    const last = lines[lines.length - 1]!;
    expect(last).toMatchObject({ level: 'error', event: 'failed', error: 'ClusterError', code: 'E_CLUSTER' });
    expect(String(last['msg'])).toMatch(new RegExp(`^gradmesh: ClusterError: interrupted by SIGTERM at step ${step}`));

    const w0Lines = jsonLines(w0.stderr);
    expect(w0Lines[0]).toMatchObject({ role: 'worker', event: 'started', worker: 'w0', threads: 1 });
    expect(w0Lines.some((l) => /^worker w0: rank [01] of 2 \(generation 1\)/.test(String(l['msg'])))).toBe(true);
    expect(w0Lines[w0Lines.length - 1]).toMatchObject({ level: 'error', event: 'exited', exitCode: 1 });
    expect(w1.stderr).toMatch(/^worker w1: joining run "[^"]+" on nats:\/\/127\.0\.0\.1:\d+ with 1 thread\(s\)$/m);
  });

  it('refuses a bad health port or boolean from a flag or a variable, and a health or link port already taken, with exit 2 and one line naming it; shows no secret from a variable', async () => {
    const zero = runGradmesh(h.dir, ['worker', '--nats', h.url], { GRADMESH_HEALTH_PORT: '0' });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toBe('gradmesh: ConfigError: GRADMESH_HEALTH_PORT: must be a port in [1, 65535] (got "0") (e.g. --health-port 8081; a probe needs a fixed port, so 0 is not allowed)\n');
    const big = runGradmesh(h.dir, ['coordinator', '--nats', h.url, '--config', config, '--health-port', '70000']);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/^gradmesh: ConfigError: --health-port: must be a port in \[1, 65535\] \(got "70000"\)/);
    const bool = runGradmesh(h.dir, ['coordinator', '--config', config], { GRADMESH_NATS_URL: h.url, GRADMESH_RESUME: 'yes' });
    expect(bool.code).toBe(2);
    expect(bool.stderr).toBe('gradmesh: ConfigError: GRADMESH_RESUME: must be true, false, 1 or 0 (got "yes")\n');
    // A secret in a variable (a password in the NATS URL) appears in no line, text or json.
    for (const format of ['text', 'json']) {
      const secret = runGradmesh(h.dir, ['worker', '--join-timeout', '2'], { GRADMESH_NATS_URL: 'nats://u:pw-SECRET@127.0.0.1:1', GRADMESH_LOG_FORMAT: format });
      expect(secret.code).toBe(1);
      expect(secret.stderr).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
      expect(secret.stdout + secret.stderr).not.toContain('pw-SECRET');
    }
    const blockedPort = await freePort('127.0.0.1');
    const blockedLinkPort = await freePort('127.0.0.1');
    const blocker = h.worker(h.runId('blocker'), 'blocker', ['--health-port', String(blockedPort), '--health-host', '127.0.0.1', '--data-port', String(blockedLinkPort), '--join-timeout', '60']);
    await blocker.waitFor(/joining run/);
    const taken = runGradmesh(h.dir, ['worker', '--nats', h.url, '--health-host', '127.0.0.1'], { GRADMESH_HEALTH_PORT: String(blockedPort) });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toBe(`gradmesh: ConfigError: GRADMESH_HEALTH_PORT: cannot listen on 127.0.0.1:${blockedPort} (EADDRINUSE) (choose a free port)\n`);
    // The direct-link listener's port likewise (the blocker listens on it too).
    const linkTaken = runGradmesh(h.dir, ['worker', '--nats', h.url, '--data-port', String(blockedLinkPort)]);
    expect(linkTaken.code).toBe(2);
    // (after the worker's "joining run" line: the listener binds once NATS says which address peers can reach)
    expect(linkTaken.stderr.trim().split('\n').filter((l) => l.startsWith('gradmesh:'))).toEqual([
      `gradmesh: ConfigError: --data-port (GRADMESH_DATA_PORT): the link listener cannot listen on 127.0.0.1:${blockedLinkPort} (EADDRINUSE) (choose a free port (or 0 for any))`,
    ]);
    blocker.kill();
  });
});
