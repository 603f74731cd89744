import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRADMESH_BIN, runGradmesh, type CliRun } from '../../helpers/cli.js';

/**
 * Checkpoints you can trust, through the CLI (issue 17): run-bound checkpoints (a resume of another model or
 * data set is refused, a fresh run never overwrites another run's checkpoints, a learning-rate change is
 * listed), a checkpoint at every stop (--max-steps, SIGINT) with the exact resume command, and --resume-from.
 * Every resume is checked bit for bit against an uninterrupted run (paramsChecksum).
 */
let dir: string;
const gradmesh = (...args: string[]): CliRun => runGradmesh(dir, args);

/** A tiny CSV classification set: label = which of 3 features is largest. */
function writeCsv(file: string, rows: number, seed: number): void {
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const v = [next(), next(), next()];
    lines.push(`${v.map((n) => n.toFixed(4)).join(',')},${v.indexOf(Math.max(...v))}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const base = {
  name: 'csv-ckpt',
  seed: 3,
  dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
  model: { kind: 'sequential', inputShape: [3], layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.02 },
  schedule: { type: 'cosine', decaySteps: 60 },
  training: { epochs: 3, batchSize: 16, validationSplit: 0.1 },
  backend: 'reference',
};

function writeConfig(name: string, change: (c: typeof base) => void = () => undefined): string {
  const c = JSON.parse(JSON.stringify(base)) as typeof base;
  change(c);
  writeFileSync(path.join(dir, name), JSON.stringify(c));
  return name;
}

const report = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { paramsChecksum: string; steps: number };
/** The sha256 of every file of a folder, by name: "no file was overwritten" is this map unchanged. */
function fileHashes(folder: string): Record<string, string> {
  return Object.fromEntries(readdirSync(path.join(dir, folder)).sort().map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, folder, f))).digest('hex')]));
}
/** The command after "resume with: " in a stop line, as arguments (the test's paths need no quoting). */
function resumeArgs(output: string): string[] {
  const m = /resume with: gradmesh (.+)$/m.exec(output);
  expect(m, output).not.toBeNull();
  return m![1]!.split(' ');
}

let uninterrupted = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-ckpt-cli-'));
  writeCsv(path.join(dir, 'train.csv'), 400, 1);
  writeCsv(path.join(dir, 'test.csv'), 100, 2);
  writeConfig('run.json');
  const full = gradmesh('train', '--config', 'run.json', '--report', 'full.json');
  expect(full.code, full.stderr).toBe(0);
  uninterrupted = report('full.json').paramsChecksum;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoints bound to their run', () => {
  it('--max-steps writes a checkpoint of that step, says how to resume, and the resume (repeating 0 steps) ends bit-identical to the uninterrupted run', () => {
    const first = gradmesh('train', '--config', 'run.json', '--checkpoint-dir', 'ms', '--max-steps', '30');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`stopped at step 30 (--max-steps); checkpoint ${path.join(dir, 'ms', 'ckpt-0000000030.safetensors')}; resume with: gradmesh train --config run.json --checkpoint-dir ms --resume`);
    const args = resumeArgs(first.stderr);
    const resumed = gradmesh(...args, '--report', 'ms.json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/^resumed from \S+ckpt-0000000030\.safetensors at step 30 \(epoch 2, batch 7\), run "train-[0-9a-z]+-[0-9a-f]{6}"$/m);
    expect(resumed.stderr).toContain('repeats 0 steps: the checkpoint was written when the previous run stopped (--max-steps)');
    expect(report('ms.json').paramsChecksum).toBe(uninterrupted);
  });

  it('--resume of a folder whose newest checkpoint is another model\'s is refused with exit 2, naming the folder, both runs\' hashes and what differs', () => {
    expect(gradmesh('train', '--config', 'run.json', '--checkpoint-dir', 'other', '--max-steps', '5').code).toBe(0);
    const before = fileHashes('other');
    writeConfig('wide.json', (c) => (c.model.layers[0]!.units = 32));
    const r = gradmesh('train', '--config', 'wide.json', '--checkpoint-dir', 'other', '--resume');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`CheckpointError: ${path.join(dir, 'other')}: its newest checkpoint \\S+ckpt-0000000005\\.safetensors \\(step 5\\) belongs to run "train-[^"]+" \\(model [0-9a-f]{12}, data [0-9a-f]{12}\\), but this config \\(wide\\.json\\) has model [0-9a-f]{12}, data [0-9a-f]{12}: a different model`));
    const [savedModel, ownModel] = [...r.stderr.matchAll(/model ([0-9a-f]{12})/g)].map((m) => m[1]);
    expect(savedModel).not.toBe(ownModel);
    writeConfig('otherdata.json', (c) => (c.dataset.test = 'train.csv'));
    expect(gradmesh('train', '--config', 'otherdata.json', '--checkpoint-dir', 'other', '--resume').stderr).toMatch(/a different data set/);
    expect(fileHashes('other')).toEqual(before);
  });

  it('a learning-rate and epochs change keeps the model: the resume goes ahead and lists both changes', () => {
    expect(gradmesh('train', '--config', 'run.json', '--checkpoint-dir', 'lr', '--max-steps', '10').code).toBe(0);
    writeConfig('lr.json', (c) => (c.optimizer.learningRate = 0.005));
    const r = gradmesh('train', '--config', 'lr.json', '--checkpoint-dir', 'lr', '--resume', '--epochs', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('config changes since the checkpoint: optimizer.learningRate 0.02 → 0.005; training.epochs 3 → 4');
  });

  it('a fresh run into a folder holding another run\'s checkpoints is refused (exit 2) before it trains, and no file there changes', () => {
    expect(gradmesh('train', '--config', 'run.json', '--checkpoint-dir', 'taken', '--max-steps', '23').code).toBe(0);
    const before = fileHashes('taken');
    expect(Object.keys(before)).toEqual(['ckpt-0000000023.safetensors']);
    for (const config of ['run.json', writeConfig('fresh.json', (c) => (c.model.layers[0]!.units = 8))]) {
      const r = gradmesh('train', '--config', config, '--checkpoint-dir', 'taken');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`CheckpointError: ${path.join(dir, 'taken')}: holds 1 checkpoint of run "train-[^"]+", the newest ckpt-0000000023\\.safetensors \\(step 23\\); a fresh run would overwrite them \\(continue that run with --resume`));
      expect(r.stdout).not.toMatch(/test accuracy/);
      expect(fileHashes('taken')).toEqual(before);
    }
  });

  it('--resume-from <file> continues that checkpoint into another (empty) folder, bit-identically; into a folder of another run it is refused', () => {
    expect(gradmesh('train', '--config', 'run.json', '--checkpoint-dir', 'from-a', '--max-steps', '17').code).toBe(0);
    const file = path.join('from-a', 'ckpt-0000000017.safetensors');
    const r = gradmesh('train', '--config', 'run.json', '--resume-from', file, '--checkpoint-dir', 'from-b', '--report', 'from.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resumed from ${path.join(dir, file)} at step 17`);
    expect(report('from.json').paramsChecksum).toBe(uninterrupted);
    expect(readdirSync(path.join(dir, 'from-b')).length).toBeGreaterThan(0);

    expect(gradmesh('train', '--config', 'run.json', '--checkpoint-dir', 'taken-by-other', '--max-steps', '4').code).toBe(0);
    const before = fileHashes('taken-by-other');
    const refused = gradmesh('train', '--config', 'run.json', '--resume-from', file, '--checkpoint-dir', 'taken-by-other');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/taken-by-other: holds 1 checkpoint of run "train-[^"]+".*; run "train-[^"]+" would overwrite them/);
    expect(fileHashes('taken-by-other')).toEqual(before);
  });

  it('SIGINT to train: a checkpoint at the next step boundary, a stop line with the step and the resume command, exit 130; that command finishes bit-identically', async () => {
    writeConfig('long.json', (c) => (c.training.epochs = 40));
    const full = gradmesh('train', '--config', 'long.json', '--report', 'long-full.json');
    expect(full.code, full.stderr).toBe(0);

    const child = spawn(process.execPath, [GRADMESH_BIN, 'train', '--config', 'long.json', '--checkpoint-dir', 'sig'], { cwd: dir, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/checkpoint \S+ \(step 23\)/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, stderr).toBe(130);
    const m = /^stopped at step (\d+) \(SIGINT\); checkpoint (\S+); resume with: gradmesh train --config long\.json --checkpoint-dir sig --resume$/m.exec(stderr);
    expect(m, stderr).not.toBeNull();
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(23);
    expect(step).toBeLessThan(40 * 23);
    expect(m![2]).toBe(path.join(dir, 'sig', `ckpt-${String(step).padStart(10, '0')}.safetensors`));

    const resumed = gradmesh(...resumeArgs(stderr), '--report', 'sig.json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('repeats 0 steps: the checkpoint was written when the previous run stopped (SIGINT)');
    expect(report('sig.json').paramsChecksum).toBe(report('long-full.json').paramsChecksum);
  });

  it('a stop without --checkpoint-dir says that nothing is resumable', () => {
    const r = gradmesh('train', '--config', 'run.json', '--max-steps', '3');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('stopped at step 3 (--max-steps); nothing is resumable: no --checkpoint-dir was given');
  });
});
