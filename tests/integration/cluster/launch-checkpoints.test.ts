import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * A checkpoint at every stop of `gradmesh launch` (issue 17): --max-steps and Ctrl-C leave a checkpoint of
 * the step where the run stopped, and launch prints the exact `gradmesh launch … --resume` that continues it —
 * or says that nothing is resumable. The resumed run ends bit-identical to an uninterrupted one (one
 * micro-batch per rank: a 2-worker launch adds exactly what `gradmesh train` adds, see launch.test.ts).
 */
let h: ClusterHarness;
let uninterrupted = '';

beforeAll(async () => {
  // A NATS server for the coordinator tests; the launches start their own.
  h = await ClusterHarness.start(true);
  writeImageData(h, 400);
  // 320 training samples, batch 8 → 40 steps an epoch; microBatch 4 → one micro-batch per rank with N = 2.
  h.file('mlp.json', mlpConfig({ epochs: 4, batchSize: 8, validationSplit: 0.2, microBatch: 4 }));
  const t = gradmesh('train', '--config', 'mlp.json', '--threads', '1', '--report', 'train.json');
  expect(t.code, t.stderr).toBe(0);
  uninterrupted = report('train.json').paramsChecksum;
});
afterAll(async () => h?.close());

function gradmesh(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: h.dir, encoding: 'utf8', timeout: 180_000, env: { ...process.env, GRADMESH_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function report(file: string): { paramsChecksum: string; steps: number; runSteps: number } {
  return JSON.parse(readFileSync(h.path(file), 'utf8'));
}

/** The launch command of a `launch: stopped at …; resume with: gradmesh launch …` line, as arguments. */
function resumeArgs(output: string): string[] {
  const m = /^launch: stopped at step \d+ \([^)]+\); checkpoint \S+; resume with: gradmesh (launch .+)$/m.exec(output);
  expect(m, output).not.toBeNull();
  return m![1]!.split(' ');
}

/** `gradmesh launch …` in the background, its output collected. */
function startLaunch(args: readonly string[]) {
  const child = spawn(process.execPath, [CLI, 'launch', ...args], { cwd: h.dir, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

describe('gradmesh launch: a checkpoint at every stop', () => {
  it('--max-steps: a checkpoint of that step and the exact launch command that resumes it, which ends bit-identical to an uninterrupted run', () => {
    const dir = h.path('ckpt-max');
    const first = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--checkpoint-dir', dir, '--max-steps', '13');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`launch: stopped at step 13 (--max-steps); checkpoint ${dir}/ckpt-0000000013.safetensors; resume with: gradmesh launch --config mlp.json --workers 2 --checkpoint-store dir:${dir} --resume`);
    const resumed = gradmesh(...resumeArgs(first.stderr), '--threads', '1', '--report', 'max.json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('[coordinator] repeats 0 steps: the checkpoint was written when the previous run stopped (--max-steps)');
    expect(report('max.json')).toMatchObject({ steps: 160, runSteps: 147, paramsChecksum: uninterrupted });
  });

  it('--resume-from <file> with launch\'s own nats-server: the file is copied into the run\'s Object Store bucket, every worker restores it, and the run ends bit-identically', () => {
    const dir = h.path('ckpt-from');
    expect(gradmesh('train', '--config', 'mlp.json', '--threads', '1', '--checkpoint-dir', dir, '--max-steps', '27').code).toBe(0);
    const r = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--resume-from', path.join(dir, 'ckpt-0000000027.safetensors'), '--report', 'from-launch.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`[coordinator] resumed from ${path.join(dir, 'ckpt-0000000027.safetensors')} at step 27`);
    // The workers read it from the run's store, by name (no path crosses the network).
    expect(r.stderr).toMatch(/\[w1\] worker w1: rank 1 of 2 \(generation 1\) from step 27, resuming from ckpt-0000000027\.safetensors/);
    expect(report('from-launch.json')).toMatchObject({ steps: 160, runSteps: 133, paramsChecksum: uninterrupted });
  });

  it('Ctrl-C: the coordinator checkpoints the step where it stops and launch prints how to resume; that command ends bit-identical to an uninterrupted run', async () => {
    const dir = h.path('ckpt-sigint');
    const run = startLaunch(['--config', 'mlp.json', '--workers', '2', '--threads', '1', '--checkpoint-dir', dir]);
    expect(await waitFor(() => /epoch 1\/4/.test(run.output()), 90_000), run.output()).toBe(true);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(1);
    const output = run.output();
    const m = /^launch: stopped at step (\d+) \(SIGINT\); checkpoint (\S+); resume with: /m.exec(output);
    expect(m, output).not.toBeNull();
    const step = Number(m![1]);
    expect(m![2]).toBe(`${dir}/ckpt-${String(step).padStart(10, '0')}.safetensors`);
    expect(existsSync(m![2]!)).toBe(true);
    const resumed = gradmesh(...resumeArgs(output), '--threads', '1', '--report', 'sigint.json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('repeats 0 steps: the checkpoint was written when the previous run stopped (SIGINT)');
    expect(report('sigint.json')).toMatchObject({ steps: 160, runSteps: 160 - step, paramsChecksum: uninterrupted });
  });

  it('Ctrl-C right after the start never advises --resume without a checkpoint to resume from', async () => {
    const dir = h.path('ckpt-early');
    const run = startLaunch(['--config', 'mlp.json', '--workers', '2', '--threads', '1', '--checkpoint-dir', dir]);
    expect(await waitFor(() => /\[w1\] worker w1: rank 1 of 2/.test(run.output()), 90_000), run.output()).toBe(true);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(1);
    const output = run.output();
    const line = /^launch: stopped at step \d+ \(SIGINT\); .*$/m.exec(output)?.[0];
    expect(line, output).toBeDefined();
    const checkpoint = /; checkpoint (\S+); resume with: gradmesh launch /.exec(line!)?.[1];
    if (checkpoint === undefined) {
      // Stopped before its first step: nothing was trained, and nothing is offered.
      expect(line).toMatch(/nothing is resumable: the run was interrupted before its first step; start it again$/);
      expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('ckpt-')) : []).toEqual([]);
    } else {
      expect(existsSync(checkpoint)).toBe(true);
    }
  });

  it('a stop without a checkpoint store, or with a nats store on launch\'s own server, says that nothing is resumable and why', () => {
    const bare = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--max-steps', '3');
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toContain('launch: stopped at step 3 (--max-steps); nothing is resumable: no checkpoint store was set');
    const own = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--max-steps', '3', '--checkpoint-store', 'nats');
    expect(own.code, own.stderr).toBe(0);
    expect(own.stderr).toMatch(/launch: stopped at step 3 \(--max-steps\); nothing is resumable: the checkpoint was in the bucket of launch's own nats-server, which stopped with the launch/);
  });
});

/** The sha256 of every file of a folder, by name. */
function fileHashes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')]));
}

describe('the coordinator: run-bound checkpoints', () => {
  it('refuses (exit 2, before any worker is needed) a fresh run into a store of another run\'s checkpoints and a --resume of another model; --resume-from a train checkpoint continues in the cluster bit-identically', async () => {
    const dir = h.path('ckpt-train');
    expect(gradmesh('train', '--config', 'mlp.json', '--threads', '1', '--checkpoint-dir', dir, '--max-steps', '50').code).toBe(0);
    const before = fileHashes(dir);

    const fresh = h.coordinator(h.runId('fresh'), 'mlp.json', 2, ['--checkpoint-dir', dir]);
    expect((await fresh.exit(60_000)).code, fresh.output).toBe(2);
    expect(fresh.stderr).toMatch(new RegExp(`CheckpointError: ${dir}: holds 2 checkpoints of run "train-[^"]+", the newest ckpt-0000000050\\.safetensors \\(step 50\\); a fresh run would overwrite them`));

    h.file('wide.json', mlpConfig({ epochs: 4, batchSize: 8, validationSplit: 0.2, microBatch: 4 }, { model: { kind: 'sequential', inputShape: [36], layers: [{ type: 'dense', units: 48, activation: 'relu' }, { type: 'dense', units: 3 }] } }));
    const wideRun = h.runId('wide');
    const wide = h.coordinator(wideRun, 'wide.json', 2, ['--checkpoint-dir', dir, '--resume']);
    expect((await wide.exit(60_000)).code, wide.output).toBe(2);
    expect(wide.stderr).toMatch(new RegExp(`CheckpointError: ${dir}: its newest checkpoint \\S+ckpt-0000000050\\.safetensors \\(step 50\\) belongs to run "train-[^"]+" \\(model [0-9a-f]{12}, data [0-9a-f]{12}\\), but run "${wideRun}" \\(config \\(wide\\.json\\)\\) has model [0-9a-f]{12}, data [0-9a-f]{12}: a different model`));
    expect(fileHashes(dir)).toEqual(before);

    const into = h.path('ckpt-cluster');
    const runId = h.runId('resume-from');
    const { coordinator, workers } = h.cluster(runId, 'mlp.json', 2, { coordinatorArgs: ['--checkpoint-dir', into, '--resume-from', path.join(dir, 'ckpt-0000000050.safetensors'), '--report', 'from.json'], workerArgs: ['--checkpoint-dir', into] });
    expect((await coordinator.exit(120_000)).code, coordinator.output).toBe(0);
    for (const w of workers) await w.exit(30_000);
    expect(coordinator.stderr).toContain('repeats 0 steps: the checkpoint was written when the previous run stopped (--max-steps)');
    expect(report('from.json')).toMatchObject({ steps: 160, runSteps: 110, paramsChecksum: uninterrupted });
    expect(fileHashes(dir)).toEqual(before);
  });
});
