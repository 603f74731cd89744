import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../../shared/src/checkpoint/store.js';
import { ClusterHarness, mlpConfig, writeImageData, type Proc } from './harness.js';

/**
 * Failures below MIN workers: a worker of a `--workers 2` run (MIN = MAX = 2) that dies (SIGKILL) or stalls
 * (SIGSTOP) mid-run ends its generation; no replacement comes within --rejoin-timeout, so the run stops
 * cleanly — the coordinator exits non-zero with one ClusterError line naming the lost worker and why, every
 * process exits, the checkpoints on disk stay intact and loadable — and `--resume` completes the run with
 * exactly the parameters of an uninterrupted run (a killed worker loses no step).
 *
 * 1000 rows, validationSplit 0.2 → 800 samples, batch 8 → 100 steps an epoch, 4 epochs = 400 steps, a
 * checkpoint every 50 steps: long enough that the kill lands mid-run, short enough for this box.
 */
let h: ClusterHarness;
let config: string;
const FAST_FAILURE = ['--heartbeat-timeout', '3', '--step-timeout', '20', '--rejoin-timeout', '3'];

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 1000);
  config = h.file('mlp.json', mlpConfig({ epochs: 4, batchSize: 8, validationSplit: 0.2, microBatch: 4, checkpointEverySteps: 50 }, { optimizer: { type: 'adam', learningRate: 0.003 } }));
});
afterAll(async () => h?.close());

async function expectAllExited(procs: Proc[]): Promise<void> {
  for (const p of procs) await p.exit(30_000);
}

/** The one `gradmesh: ClusterError: …` line of a failed coordinator. */
function errorLine(p: Proc): string {
  const lines = p.stderr.split('\n').filter((l) => l.startsWith('gradmesh: '));
  expect(lines, p.stderr).toHaveLength(1);
  return lines[0]!;
}

let uninterruptedChecksum = '';

describe('cluster failures', () => {
  it('an uninterrupted run completes (the reference for "a killed worker loses no step")', async () => {
    const runId = h.runId('ref');
    const report = h.path('reference.json');
    const { coordinator, workers } = h.cluster(runId, config, 2, { coordinatorArgs: ['--report', report, ...FAST_FAILURE] });
    expect((await coordinator.exit(120_000)).code, coordinator.output).toBe(0);
    await expectAllExited(workers);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    expect(r.steps).toBe(400);
    uninterruptedChecksum = r.paramsChecksum;
  });

  it('a worker killed with SIGKILL mid-run, with no replacement, stops the run naming the lost worker; everything exits; checkpoints stay loadable; --resume finishes with the uninterrupted parameters', async () => {
    const runId = h.runId('kill');
    const dir = h.path('ckpt-kill');
    const { coordinator, workers } = h.cluster(runId, config, 2, { coordinatorArgs: ['--checkpoint-dir', dir, ...FAST_FAILURE], workerArgs: ['--checkpoint-dir', dir] });
    await coordinator.waitFor(/checkpoint \S+ \(step 50\)/, 120_000);
    workers[1]!.kill();
    const exit = await coordinator.exit(60_000);
    expect(exit.code).toBe(1);
    const line = errorLine(coordinator);
    expect(line).toMatch(/^gradmesh: ClusterError: only 1 of at least 2 workers are there after 3 s: w0; lost: w1 \(no heartbeat for [\d.]+ s at step \d+.*: it died or stalled\)/);
    // The survivor is told to stop and exits non-zero; the killed one is gone.
    const survivor = await workers[0]!.exit(30_000);
    expect(survivor.code).toBe(1);
    expect(workers[0]!.stderr).toMatch(/the coordinator stopped the run \(failed\): ClusterError: only 1 of at least 2 workers/);
    expect((await workers[1]!.exit(5_000)).signal).toBe('SIGKILL');
    // Every checkpoint on disk is complete and verifies (atomic writes: no torn file, no temp file left).
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => /^ckpt-\d+\.safetensors$/.test(f)), files.join(', ')).toBe(true);
    for (const f of files) await readCheckpoint(path.join(dir, f));
    const stepMatch = /worker w1 \(rank 1\) is lost: .* at step (\d+)/.exec(coordinator.stderr);
    const lastCheckpointStep = Math.max(...files.map((f) => Number(/\d+/.exec(f)![0])));
    expect(lastCheckpointStep).toBeLessThanOrEqual(Number(stepMatch![1]));
    // The failure says what a resume would repeat: the steps since the newest checkpoint.
    const repeats = new RegExp(`the run failed at step (\\d+); the newest checkpoint is \\S+ckpt-0*${lastCheckpointStep}\\.safetensors: --resume repeats the (\\d+) step\\(s\\) after step ${lastCheckpointStep}`).exec(coordinator.stderr);
    expect(repeats, coordinator.stderr).not.toBeNull();
    expect(Number(repeats![2])).toBe(Number(repeats![1]) - lastCheckpointStep);

    // Resume with two fresh worker processes.
    const report = h.path('resumed.json');
    const resumed = h.cluster(h.runId('resume'), config, 2, { coordinatorArgs: ['--checkpoint-dir', dir, '--resume', '--report', report, ...FAST_FAILURE], workerArgs: ['--checkpoint-dir', dir] });
    expect((await resumed.coordinator.exit(120_000)).code, resumed.coordinator.output).toBe(0);
    await expectAllExited(resumed.workers);
    expect(resumed.coordinator.stderr).toMatch(new RegExp(`resumed from \\S+ckpt-0*${lastCheckpointStep}\\.safetensors at step ${lastCheckpointStep}`));
    // A checkpoint written during training, not at a stop (the worker was killed): the resume says it may repeat steps.
    expect(resumed.coordinator.stderr).toContain(`any steps the previous run took after step ${lastCheckpointStep} are taken again`);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    expect(r.steps).toBe(400);
    expect(r.runSteps).toBe(400 - lastCheckpointStep);
    expect(r.history).toHaveLength(4);
    expect(uninterruptedChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(r.paramsChecksum).toBe(uninterruptedChecksum);
  });

  it('a stalled worker (SIGSTOP) is detected within the heartbeat timeout and the run stops without a replacement; after SIGCONT it exits too', async () => {
    const runId = h.runId('stall');
    const { coordinator, workers } = h.cluster(runId, config, 2, { coordinatorArgs: ['--checkpoint-dir', h.path('ckpt-stall'), ...FAST_FAILURE], workerArgs: ['--coordinator-grace', '3', '--checkpoint-dir', h.path('ckpt-stall')] });
    await coordinator.waitFor(/checkpoint \S+ \(step 50\)/, 120_000);
    workers[1]!.stall();
    const exit = await coordinator.exit(60_000);
    expect(exit.code).toBe(1);
    expect(errorLine(coordinator)).toMatch(/^gradmesh: ClusterError: only 1 of at least 2 workers are there after 3 s: w0; lost: w1 \(no heartbeat for [\d.]+ s at step \d+.*: it died or stalled\)/);
    expect((await workers[0]!.exit(30_000)).code).toBe(1);
    workers[1]!.resume();
    const stalled = await workers[1]!.exit(30_000);
    expect(stalled.code).toBe(1);
  });

  it('Ctrl-C (SIGINT) to the coordinator stops at a step boundary after writing a checkpoint of that step; --resume loses no step', async () => {
    const runId = h.runId('sigint');
    const dir = h.path('ckpt-sigint');
    const { coordinator, workers } = h.cluster(runId, config, 2, { coordinatorArgs: ['--checkpoint-dir', dir, ...FAST_FAILURE], workerArgs: ['--checkpoint-dir', dir] });
    await coordinator.waitFor(/checkpoint \S+ \(step 100\)/, 120_000);
    coordinator.signal('SIGINT');
    const exit = await coordinator.exit(60_000);
    expect(exit.code).not.toBe(0);
    // Note [a checkpoint at every stop]: the stop line names the step, the checkpoint and the exact resume command.
    const written = /stopped at step (\d+) \(SIGINT\); checkpoint (\S+); resume with: gradmesh coordinator --nats \S+ --config \S+ --run \S+ --workers 2 --checkpoint-store dir:\S+ --resume \(and start the workers again\)/.exec(coordinator.stderr);
    expect(written, coordinator.stderr).not.toBeNull();
    const step = Number(written![1]);
    expect(step).toBeGreaterThanOrEqual(100);
    for (const w of workers) await w.exit(30_000);
    const files = readdirSync(dir).filter((f) => /^ckpt-\d+\.safetensors$/.test(f));
    expect(Math.max(...files.map((f) => Number(/\d+/.exec(f)![0])))).toBe(step);

    const report = h.path('sigint-resumed.json');
    const resumed = h.cluster(h.runId('sigint-resume'), config, 2, { coordinatorArgs: ['--checkpoint-dir', dir, '--resume', '--report', report, ...FAST_FAILURE], workerArgs: ['--checkpoint-dir', dir] });
    expect((await resumed.coordinator.exit(120_000)).code, resumed.coordinator.output).toBe(0);
    await expectAllExited(resumed.workers);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    expect(r.steps).toBe(400);
    expect(r.runSteps).toBe(400 - step);
    expect(r.paramsChecksum).toBe(uninterruptedChecksum);
  });
});
