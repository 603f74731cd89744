import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRADMESH_BIN } from '../../helpers/cli.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

// Issue 12: "refused before training … in `train` and on every worker". The coordinator's preflight sees good
// data; the worker's machine then holds a damaged copy (simulated by damaging the file after the coordinator
// checked it). The worker must refuse it before taking part, exit 2, and the coordinator must stop the run with
// exit 2 and a line naming the worker and the file — not wait for a replacement or report a lost worker.

let nats: NatsHandle;
let dir: string;
beforeAll(async () => {
  nats = await startNats({ via: 'spawn' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-worker-data-'));
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function csv(labelOffset: number): string {
  const lines = ['a,b,label'];
  for (let i = 0; i < 60; i++) lines.push(`${(i % 7) / 7},${(i % 5) / 5},${(i % 3) + labelOffset}`);
  return `${lines.join('\n')}\n`;
}

interface Exited { code: number | null; stderr: string }

function start(args: string[]): { child: ChildProcess; exited: Promise<Exited>; stderr: () => string } {
  const child = spawn(process.execPath, [GRADMESH_BIN, ...args], { cwd: dir, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exited>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exited, stderr: () => stderr };
}

describe('a worker whose data does not fit the run', () => {
  it('exits 2 naming its file, sample and label, and the coordinator stops the run with exit 2 naming the worker', async () => {
    writeFileSync(path.join(dir, 'train.csv'), csv(0));
    writeFileSync(path.join(dir, 'test.csv'), csv(0));
    writeFileSync(path.join(dir, 'run.json'), JSON.stringify({
      dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
      model: { inputShape: [2], layers: [{ type: 'dense', units: 3 }] },
      loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 8 }, backend: 'reference',
    }));
    const run = `bad-data-${process.pid}`;
    const coordinator = start(['coordinator', '--nats', nats.url, '--config', 'run.json', '--run', run, '--workers', '1', '--join-timeout', '60', '--rejoin-timeout', '60']);
    try {
      // The coordinator has passed its own preflight once it waits for workers.
      for (let i = 0; i < 600 && !coordinator.stderr().includes('waiting for'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(coordinator.stderr()).toContain('waiting for');
      writeFileSync(path.join(dir, 'train.csv'), csv(1)); // labels 1..3 on "the worker's machine"
      writeFileSync(path.join(dir, 'test.csv'), csv(1));
      const worker = await start(['worker', '--nats', nats.url, '--run', run, '--id', 'w0', '--threads', '1', '--join-timeout', '60']).exited;
      expect(worker.code, worker.stderr).toBe(2);
      expect(worker.stderr).toMatch(/worker w0 \(rank 0\): DataError: .*train\.csv: sample \d+: label 3 is outside 0\.\.2.*labels start at 1/);
      const ended = await coordinator.exited;
      expect(ended.code, ended.stderr).toBe(2);
      expect(ended.stderr).toMatch(/^gradmesh: ConfigError: worker w0 \(rank 0\) refused its input: DataError: .*train\.csv: sample \d+: label 3/m);
      expect(ended.stderr).not.toMatch(/is lost|rejoin/);
    } finally {
      coordinator.child.kill('SIGKILL');
    }
  }, 120_000);
});
