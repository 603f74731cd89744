import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts, freePort } from '../nats/nats-server.js';
import { ClusterHarness, ROOT } from './harness.js';

/**
 * The chaos test of the elastic cluster: `gradmesh launch --workers 2:3 --max-restarts 2` on a real
 * nats-server with JetStream (external, so the test can restart it), MNIST MLP, 2 epochs, and this fault
 * schedule while it trains:
 *   1. SIGKILL a worker                               → the run goes on with 2 (MIN); launch starts a
 *                                                       replacement, which joins and receives a live replica's state;
 *   2. SIGSTOP a worker past the heartbeat timeout     → it is lost; after SIGCONT it joins again;
 *   3. restart nats-server (same port, same store)     → every process reconnects; the step in flight is redone;
 *   4. SIGKILL the coordinator                        → launch starts a new one, which takes the run over from
 *                                                       the latest checkpoint in the JetStream object store.
 * The run completes with exit 0, with exactly the steps of the fault-free run, the replicas agree, the event
 * log shows each generation and the redone commands, and the test accuracy is within 0.3 points of the
 * fault-free run's.
 */
const FAST = ['--heartbeat-timeout', '2', '--step-timeout', '15', '--rejoin-timeout', '30', '--join-timeout', '60', '--checkpoint-store', 'nats'];

/** A nats-server on a fixed port and store directory, so it can be stopped and started again as "the same server". */
class RestartableNats {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-chaos-nats-'));
  child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', path.join(this.dir, 'jetstream')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await accepts(this.port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`nats-server did not accept connections on ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let h: ClusterHarness;
let nats: RestartableNats;
let config: string;

beforeAll(async () => {
  nats = new RestartableNats(await freePort());
  await nats.start();
  h = await ClusterHarness.start(false);
  h.nats = { url: nats.url, via: 'spawn', stop: async () => undefined };
  const example = JSON.parse(readFileSync(path.join(ROOT, 'examples/mnist-mlp.json'), 'utf8')) as { training: object };
  delete (example as { $schema?: string }).$schema;
  config = h.file('mnist-mlp.json', { ...example, training: { ...example.training, epochs: 2, checkpointEverySteps: 150 } });
});
afterAll(async () => {
  await h?.close();
  await nats?.close();
});

const report = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await pause(50);
  }
}

describe('chaos: every single fault, one after another, loses no step', () => {
  let reference: { steps: number; testAccuracy: number };
  const launchArgs = (runId: string, report: string) => [
    'launch', '--nats', nats.url, '--run', runId, '--config', config, '--workers', '2:3', '--max-restarts', '2', '--threads', '1',
    '--checkpoint-store', 'nats', '--report', report, ...FAST,
  ];
  /** The pid of a process of this run whose command line matches `pattern` (after the run id). */
  const pidOf = (runId: string, pattern: string) => Number(execFileSync('pgrep', ['-f', '--', `--run ${runId}${pattern}`], { encoding: 'utf8' }).trim().split('\n')[0]);

  it('the fault-free run is the reference', async () => {
    const file = h.path('reference.json');
    const launch = h.spawn('launch', launchArgs(h.runId('calm'), file));
    expect((await launch.exit(150_000)).code, launch.output.slice(-3000)).toBe(0);
    reference = report(file);
    expect(reference.steps).toBe(1688);
  });

  it('on launch: SIGKILL a worker (replaced), SIGSTOP/SIGCONT, a nats-server restart and a coordinator crash: exit 0, all steps, replicas agree', async () => {
    const runId = h.runId('chaos');
    const file = h.path('chaos.json');
    const launch = h.spawn('launch', launchArgs(runId, file));
    await launch.waitFor(/generation \d+ \(the run starts\)/, 60_000);
    // Past step 0 for sure (a replica killed at step 0 is replaced by a fresh one, which needs no state): the first
    // periodic checkpoint (step 150) has been written.
    await launch.waitFor(/checkpoint \S+ \(step \d+\)/, 60_000);

    // 1. A worker dies; launch starts a replacement, which receives a live replica's state.
    process.kill(pidOf(runId, ' .*--id w1'), 'SIGKILL');
    await launch.waitFor(/worker w1 \(rank 1\) is lost/, 30_000);
    await launch.waitFor(/starting a replacement/, 30_000);
    await launch.waitFor(/sends its state of step \d+ to [^\n]*w1/, 60_000);
    await pause(500);
    // 2. A worker stalls past the heartbeat timeout, then continues and joins again.
    const stalled = pidOf(runId, ' .*--id w2');
    process.kill(stalled, 'SIGSTOP');
    await launch.waitFor(/worker w2 \(rank \d\) is lost/, 30_000);
    process.kill(stalled, 'SIGCONT');
    await until(() => (launch.output.match(/worker w2 joined/g)?.length ?? 0) >= 2, 30_000, 'w2 to join again');
    await pause(500);
    // 3. nats-server restarts: every process reconnects; the command in flight is carried out again.
    await nats.stop();
    await pause(1_000);
    await nats.start();
    await launch.waitFor(/reconnected to NATS/, 30_000);
    await launch.waitFor(/generation \d+ \(the NATS connection was re-established/, 30_000);
    const checkpoints = () => launch.output.match(/checkpoint \S+ \(step \d+\)/g)?.length ?? 0;
    const before = checkpoints();
    await until(() => checkpoints() > before, 60_000, 'a checkpoint after the restart');
    // 4. The coordinator crashes; launch starts a new one, which takes the run over from the latest checkpoint.
    process.kill(Number(execFileSync('pgrep', ['-f', '--', `coordinator --nats \\S+ --config \\S+ --run ${runId} `], { encoding: 'utf8' }).trim()), 'SIGKILL');
    await launch.waitFor(/the coordinator was killed by SIGKILL; starting a new one/, 30_000);
    await launch.waitFor(/taking over run/, 30_000);

    expect((await launch.exit(150_000)).code, launch.output.slice(-4000)).toBe(0);
    const r = report(file);
    expect(r.status).toBe('completed');
    expect(r.steps).toBe(reference.steps);
    expect(r.replicaChecksumsAgree).toBe(true);
    expect(Math.abs(r.testAccuracy - reference.testAccuracy)).toBeLessThanOrEqual(0.003);
    expect(r.resumedFrom).toMatch(/ckpt-\d+\.safetensors/);
    const kinds = (r.events as { kind: string }[]).map((e) => e.kind);
    expect(kinds).toContain('generation');
    expect(kinds).toContain('rejoined');
    // No process of the run is left.
    expect(() => execFileSync('pgrep', ['-f', '--', `--run ${runId}`])).toThrow();
  }, 300_000);
});
