import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts, freePort } from '../nats/nats-server.js';
import { ClusterHarness, ROOT, type Proc } from './harness.js';

/**
 * The chaos test of the elastic cluster: real processes on a real nats-server (with JetStream), MNIST MLP,
 * 2 epochs, `--workers 2:3`, and this fault schedule while it trains:
 *   1. SIGKILL a worker                               → the run goes on with 2 (MIN);
 *   2. start a replacement worker                     → it joins and receives a live replica's state;
 *   3. SIGSTOP a worker past the heartbeat timeout     → it is lost; after SIGCONT it joins again;
 *   4. restart nats-server (same port, same store)     → every process reconnects; the step in flight is redone;
 *   5. SIGKILL the coordinator and start a new one     → it takes the run over from the latest checkpoint in
 *      with the same run id                              the JetStream object store; the workers join it.
 * The run completes with exit 0, with exactly the steps of the fault-free run, the replicas agree, the event
 * log shows each generation and the redone commands, and the test accuracy is within 0.3 points of the
 * fault-free run's.
 */
const FAST = ['--heartbeat-timeout', '2', '--step-timeout', '15', '--rejoin-timeout', '30', '--join-timeout', '60', '--checkpoint-store', 'nats'];
const WORKER = ['--coordinator-grace', '30'];

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

  it('the fault-free run is the reference', async () => {
    const file = h.path('reference.json');
    const runId = h.runId('calm');
    const coordinator = h.coordinator(runId, config, 3, ['--workers', '2:3', '--report', file, ...FAST]);
    const workers = ['w0', 'w1', 'w2'].map((id) => h.worker(runId, id, WORKER));
    expect((await coordinator.exit(150_000)).code, coordinator.output).toBe(0);
    for (const w of workers) await w.exit(30_000);
    reference = report(file);
    expect(reference.steps).toBe(1688);
  });

  it('SIGKILL a worker, a replacement, SIGSTOP/SIGCONT, a nats-server restart and a coordinator crash: exit 0, all steps, replicas agree', async () => {
    const runId = h.runId('chaos');
    const file = h.path('chaos.json');
    const coordinatorArgs = ['--workers', '2:3', '--report', file, ...FAST];
    const first = h.coordinator(runId, config, 3, coordinatorArgs);
    const workers: Proc[] = ['w0', 'w1', 'w2'].map((id) => h.worker(runId, id, WORKER));
    await first.waitFor(/generation \d+ \(the run starts\)/, 60_000);
    await pause(1_500);

    // 1. A worker dies.
    workers[1]!.kill();
    await first.waitFor(/worker w1 \(rank 1\) is lost/, 30_000);
    // 2. A replacement joins the running run and receives a live replica's state.
    workers.push(h.worker(runId, 'w3', WORKER));
    await first.waitFor(/sends its state of step \d+ to [^\n]*w3/, 60_000);
    await pause(500);
    // 3. A worker stalls past the heartbeat timeout, then continues and joins again.
    workers[2]!.stall();
    await first.waitFor(/worker w2 \(rank \d\) is lost/, 30_000);
    workers[2]!.resume();
    await until(() => (first.output.match(/worker w2 joined/g)?.length ?? 0) >= 2, 30_000, 'w2 to join again');
    await pause(500);
    // 4. nats-server restarts: every process reconnects; the command in flight is carried out again.
    await nats.stop();
    await pause(1_000);
    await nats.start();
    await first.waitFor(/reconnected to NATS/, 30_000);
    await first.waitFor(/generation \d+ \(the NATS connection was re-established/, 30_000);
    const checkpoints = () => first.output.match(/checkpoint \S+ \(step \d+\)/g)?.length ?? 0;
    const before = checkpoints();
    await until(() => checkpoints() > before, 60_000, 'a checkpoint after the restart');
    // 5. The coordinator crashes; a new one with the same run id takes the run over from the latest checkpoint.
    first.kill();
    await first.exit(10_000);
    const second = h.coordinator(runId, config, 3, coordinatorArgs);
    await second.waitFor(/taking over run/, 30_000);

    expect((await second.exit(150_000)).code, second.output).toBe(0);
    for (const w of workers.filter((w) => w !== workers[1])) expect((await w.exit(30_000)).code, `${w.name}\n${w.output.slice(-2000)}`).toBe(0);
    const r = report(file);
    expect(r.status).toBe('completed');
    expect(r.steps).toBe(reference.steps);
    expect(r.replicaChecksumsAgree).toBe(true);
    expect(Math.abs(r.testAccuracy - reference.testAccuracy)).toBeLessThanOrEqual(0.003);
    const kinds = (r.events as { kind: string }[]).map((e) => e.kind);
    expect(kinds).toContain('generation');
    expect(kinds).toContain('rejoined');
    expect(r.resumedFrom).toMatch(/ckpt-\d+\.safetensors/);
    // The first coordinator's generations (1 … n) and the faults, in its log.
    expect(first.stderr).toMatch(/worker w1 \(rank 1\) is lost/);
    expect(first.stderr).toMatch(/sends its state of step \d+ to [^\n]*w3/);
    expect(first.stderr).toMatch(/worker w2 \(rank \d\) is lost/);
    expect(first.stderr).toMatch(/reconnected to NATS/);
  }, 300_000);
});
