import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterHarness, mlpConfig, writeImageData, type Proc } from './harness.js';

/**
 * Elastic generations (`--workers 2:3`), real processes on a real NATS: a worker killed mid-run, a
 * replacement that joins the running run, and a worker that leaves with SIGTERM. The run completes with
 * every step of the fault-free run, none applied twice (the event log names each generation and every
 * redone command), and the replicas agree; accuracy matches the fault-free run's closely (only the
 * summation order of a step differs between world sizes).
 *
 * 4000 rows, validationSplit 0.2 → 3200 samples, batch 8 → 400 steps an epoch, 3 epochs = 1200 steps.
 */
let h: ClusterHarness;
let config: string;
let natsConfig: string;
const FAST = ['--heartbeat-timeout', '3', '--step-timeout', '20', '--rejoin-timeout', '20'];
const WORKER = ['--coordinator-grace', '20'];

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 4000);
  config = h.file('mlp.json', mlpConfig({ epochs: 3, batchSize: 8, validationSplit: 0.2, microBatch: 4 }, { optimizer: { type: 'adam', learningRate: 0.003 } }));
  natsConfig = h.file('mlp-nats.json', mlpConfig({ epochs: 3, batchSize: 8, validationSplit: 0.2, microBatch: 4, allreduce: { transport: 'nats' } }, { optimizer: { type: 'adam', learningRate: 0.003 } }));
});
afterAll(async () => h?.close());

const report = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('elastic generations', () => {
  let reference: { steps: number; testAccuracy: number; paramsChecksum: string };

  it('the fault-free run of 3 workers is the reference', async () => {
    const file = h.path('reference.json');
    const { coordinator, workers } = h.cluster(h.runId('ref'), config, 3, { coordinatorArgs: ['--report', file, ...FAST], workerArgs: WORKER });
    expect((await coordinator.exit(120_000)).code, coordinator.output).toBe(0);
    for (const w of workers) expect((await w.exit(30_000)).code).toBe(0);
    reference = report(file);
    expect(reference.steps).toBe(1200);
  });

  it('a killed worker, a replacement joining mid-run and a SIGTERM leave lose no step and apply none twice; replicas agree', async () => {
    const runId = h.runId('elastic');
    const file = h.path('elastic.json');
    const coordinator = h.coordinator(runId, config, 3, ['--workers', '2:3', '--report', file, ...FAST]);
    const workers: Proc[] = ['w0', 'w1', 'w2'].map((id) => h.worker(runId, id, WORKER));
    await coordinator.waitFor(/epoch 1\/3/, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Fault 1: SIGKILL w1 mid-epoch. The run goes on with w0 and w2 (MIN = 2); the step w1 left unfinished is redone.
    workers[1]!.kill();
    await coordinator.waitFor(/generation 2 \(/, 60_000);
    // Fault 2: a replacement process with a new id joins the running run and receives a live replica's state.
    workers.push(h.worker(runId, 'w3', WORKER));
    await coordinator.waitFor(/sends its state of step \d+ to w3/, 60_000);
    await coordinator.waitFor(/generation 3 \(/, 60_000);
    // Fault 3: SIGTERM w0: it leaves after the command in flight; the run goes on with w2 and w3.
    workers[0]!.signal('SIGTERM');
    expect((await workers[0]!.exit(60_000)).code, workers[0]!.output).toBe(0);
    expect(workers[0]!.stderr).toMatch(/left the run \(SIGTERM/);

    expect((await coordinator.exit(180_000)).code, coordinator.output).toBe(0);
    for (const w of [workers[2]!, workers[3]!]) expect((await w.exit(30_000)).code, w.output).toBe(0);
    const r = report(file);
    expect(r.steps).toBe(1200);
    expect(r.history).toHaveLength(3);
    expect(r.replicaChecksumsAgree).toBe(true);
    expect(r.generations).toBeGreaterThanOrEqual(4);
    const kinds = (r.events as { kind: string; worker?: string }[]).map((e) => `${e.kind}${e.worker ? ` ${e.worker}` : ''}`);
    expect(kinds).toContain('lost w1');
    expect(kinds).toContain('left w0');
    expect(kinds).toContain('redo');
    expect(kinds.some((k) => k.startsWith('state-transfer'))).toBe(true);
    expect(Math.abs(r.testAccuracy - reference.testAccuracy)).toBeLessThanOrEqual(0.03);
    // The final world: the two workers that stayed, ranks by id.
    expect((r.perWorker as { workerId: string }[]).map((w) => w.workerId)).toEqual(['w2', 'w3']);
  });

  // Through nats-server (the other tests here use the default, direct links: Note [a broken link ends the generation's
  // data path]): the dead worker stops answering, the coordinator loses it, and the replacement joins a new generation.
  it('through nats-server, launch --workers 2:3 --max-restarts 1 replaces a worker process that died; the run completes with every step', async () => {
    const runId = h.runId('restarts');
    const file = h.path('restarts.json');
    const launch = h.spawn('launch', ['launch', '--config', natsConfig, '--workers', '2:3', '--max-restarts', '1', '--threads', '1', '--run', runId, '--report', file, '--heartbeat-timeout', '3']);
    await launch.waitFor(/epoch 1\/3/, 120_000);
    // The worker process w1 of this run (its command line names the run and the id).
    const pid = Number(execFileSync('pgrep', ['-f', '--', `--run ${runId} .*--id w1`], { encoding: 'utf8' }).trim().split('\n')[0]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await launch.waitFor(/starting a replacement/, 60_000);
    expect((await launch.exit(180_000)).code, launch.output.slice(-3000)).toBe(0);
    const r = report(file);
    expect(r.steps).toBe(1200);
    expect(r.replicaChecksumsAgree).toBe(true);
    const kinds = (r.events as { kind: string; worker?: string }[]).map((e) => `${e.kind}${e.worker ? ` ${e.worker}` : ''}`);
    expect(kinds).toContain('lost w1');
    expect(kinds.filter((k) => k === 'joined w1')).toHaveLength(2);
    expect(r.allreduce.transport).toBe('nats');
  });
});
