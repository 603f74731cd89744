import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

/**
 * The cluster test harness (in the spirit of hashicorp/raft's cluster helpers and Horovod's elastic tests):
 * a real NATS server, and coordinator / worker / launch processes of the BUILT CLI (`npm test` builds
 * first) that a test can kill (SIGKILL), stall (SIGSTOP) and resume (SIGCONT), whose output is collected
 * and whose exits are awaited with a bound. `close()` kills whatever is still running and removes the temp
 * directory — call it in afterAll, so no test leaves a process behind even when it fails.
 */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'bin/gradmesh.js');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  stdout = '';
  stderr = '';
  readonly #watchers: { pattern: RegExp; resolve: () => void }[] = [];

  constructor(name: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
    this.name = name;
    this.child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.stdout!.on('data', (d: Buffer) => this.#append('stdout', d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => this.#append('stderr', d.toString()));
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  get pid(): number {
    return this.child.pid!;
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when `pattern` appears in the output; rejects after `timeoutMs` or when the process exits first. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    if (pattern.test(this.output)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms; output:\n${this.output.slice(-3000)}`)), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#watchers.push({ pattern, resolve: done });
      void this.exited.then((e) => {
        clearTimeout(timer);
        if (!pattern.test(this.output)) reject(new Error(`${this.name} exited (${e.signal ?? e.code}) before ${pattern}; output:\n${this.output.slice(-3000)}`));
      });
    });
  }

  /** The exit, or a rejection naming the process if it has not exited within `timeoutMs`. */
  async exit(timeoutMs = 60_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${this.name} still running after ${timeoutMs} ms; output:\n${this.output.slice(-3000)}`)), timeoutMs)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.running()) this.child.kill('SIGKILL');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running()) this.child.kill(signal);
  }

  stall(): void {
    if (this.running()) this.child.kill('SIGSTOP');
  }

  resume(): void {
    if (this.running()) this.child.kill('SIGCONT');
  }

  #append(stream: 'stdout' | 'stderr', text: string): void {
    this[stream] += text;
    if (process.env['GRADMESH_TEST_VERBOSE']) process.stderr.write(text.replace(/^/gm, `[${this.name}] `));
    for (let i = this.#watchers.length - 1; i >= 0; i--) {
      const w = this.#watchers[i]!;
      if (w.pattern.test(this.output)) {
        this.#watchers.splice(i, 1);
        w.resolve();
      }
    }
  }
}

export interface ClusterOptions {
  /** Extra coordinator flags (e.g. --heartbeat-timeout 3). */
  readonly coordinatorArgs?: readonly string[];
  readonly workerArgs?: readonly string[];
}

let runs = 0;

export class ClusterHarness {
  readonly dir: string;
  readonly procs: Proc[] = [];
  nats: NatsHandle | undefined;
  readonly env: NodeJS.ProcessEnv = { ...process.env, GRADMESH_THREADS: '1' };

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** A temp directory and (unless `withNats` is false) a real NATS server on 127.0.0.1. */
  static async start(withNats = true): Promise<ClusterHarness> {
    const h = new ClusterHarness(mkdtempSync(path.join(os.tmpdir(), 'gradmesh-cluster-')));
    if (withNats) h.nats = await startNats();
    return h;
  }

  get url(): string {
    if (!this.nats) throw new Error('this harness has no NATS server');
    return this.nats.url;
  }

  /** A fresh run id, so runs sharing the server never see each other's traffic. */
  runId(prefix = 'run'): string {
    runs++;
    return `${prefix}-${process.pid}-${runs}`;
  }

  file(name: string, contents: string | object): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, typeof contents === 'string' ? contents : JSON.stringify(contents, null, 2));
    return file;
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  spawn(name: string, args: readonly string[]): Proc {
    const p = new Proc(name, args, this.dir, this.env);
    this.procs.push(p);
    return p;
  }

  coordinator(runId: string, config: string, workers: number, extra: readonly string[] = []): Proc {
    return this.spawn('coordinator', ['coordinator', '--nats', this.url, '--run', runId, '--config', config, '--workers', String(workers), ...extra]);
  }

  worker(runId: string, id: string, extra: readonly string[] = []): Proc {
    return this.spawn(id, ['worker', '--nats', this.url, '--run', runId, '--id', id, '--threads', '1', ...extra]);
  }

  /** A coordinator and N workers (ids w0, w1, …) of one run. */
  cluster(runId: string, config: string, workers: number, options: ClusterOptions = {}): { coordinator: Proc; workers: Proc[] } {
    const coordinator = this.coordinator(runId, config, workers, options.coordinatorArgs ?? []);
    const ws = Array.from({ length: workers }, (_, i) => this.worker(runId, `w${i}`, options.workerArgs ?? []));
    return { coordinator, workers: ws };
  }

  /** Kills every process still running (SIGCONT first, so a stalled one can die), stops NATS, removes the directory. */
  async close(): Promise<void> {
    for (const p of this.procs) {
      p.resume();
      p.kill();
    }
    await Promise.all(this.procs.map((p) => p.exit(10_000).catch(() => undefined)));
    await this.nats?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- data and configs -------------------------------------------------------------------------------------

/** A deterministic LCG (tests must not use Math.random). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
}

/**
 * A learnable 3-class set of side×side "images" as CSV: the class decides which horizontal band is bright.
 * Flat features work for both an MLP (inputShape [side·side]) and a CNN (inputShape [side, side, 1]).
 */
export function imageCsv(rows: number, side: number, seed: number): string {
  const next = lcg(seed);
  const header = [...Array.from({ length: side * side }, (_, i) => `p${i}`), 'label'].join(',');
  const lines = [header];
  for (let r = 0; r < rows; r++) {
    const label = Math.floor(next() * 3);
    const px: string[] = [];
    for (let i = 0; i < side * side; i++) {
      const band = Math.floor(Math.floor(i / side) / Math.ceil(side / 3));
      px.push((band === label ? 0.55 + next() * 0.45 : next() * 0.45).toFixed(3));
    }
    lines.push(`${px.join(',')},${label}`);
  }
  return `${lines.join('\n')}\n`;
}

export function mlpConfig(training: object, extra: object = {}): object {
  return {
    name: 'cluster-mlp',
    seed: 5,
    dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
    model: { kind: 'sequential', inputShape: [36], layers: [{ type: 'dense', units: 24, activation: 'relu' }, { type: 'dense', units: 3 }] },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.01 },
    training,
    backend: 'pool',
    ...extra,
  };
}

export function cnnConfig(training: object): object {
  return {
    name: 'cluster-cnn',
    seed: 9,
    dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
    model: {
      kind: 'sequential',
      inputShape: [6, 6, 1],
      layers: [
        { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'flatten' },
        // Dropout makes the test sensitive to the micro-batch numbering across ranks (worker/src/shard.ts).
        { type: 'dropout', rate: 0.25 },
        { type: 'dense', units: 3 },
      ],
    },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.01 },
    training,
    backend: 'pool',
  };
}

/** Writes train.csv (rows) and test.csv (90 rows) of 6×6 images into the harness directory. */
export function writeImageData(h: ClusterHarness, rows: number): void {
  h.file('train.csv', imageCsv(rows, 6, 1));
  h.file('test.csv', imageCsv(90, 6, 2));
}
