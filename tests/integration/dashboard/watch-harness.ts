import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GRADMESH_BIN } from '../../helpers/cli.js';

/** A gradmesh command running in the background, its stderr collected, its URLs read from it. */
export interface RunningCommand {
  readonly child: ChildProcess;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function startGradmesh(cwd: string, args: readonly string[]): RunningCommand {
  const child = spawn(process.execPath, [GRADMESH_BIN, ...args], { cwd, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 90_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = () => {
          const m = err.match(pattern);
          if (m) return resolve(m);
          if (child.exitCode !== null || Date.now() - started > timeoutMs) return reject(new Error(`no ${pattern} in the output of gradmesh ${args.join(' ')}:\n${err}`));
          setTimeout(poll, 50);
        };
        poll();
      }),
  };
}

/** A tiny CSV classification set: label = which of 3 features is largest. */
export function writeCsv(file: string, rows: number, seed: number): void {
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const v = [next(), next(), next()];
    lines.push(`${v.map((n) => n.toFixed(4)).join(',')},${v.indexOf(Math.max(...v))}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** A config `<name>.json` training a 3-16-3 MLP on `<name>-train.csv` (`rows` samples) for `epochs`. */
export function writeCsvRun(dir: string, name: string, epochs: number, rows = 4000, backend: 'pool' | 'reference' = 'pool'): string {
  writeCsv(path.join(dir, `${name}-train.csv`), rows, 1);
  writeCsv(path.join(dir, `${name}-test.csv`), 300, 2);
  const config = {
    name,
    seed: 3,
    dataset: { format: 'csv', train: `${name}-train.csv`, test: `${name}-test.csv`, labelColumn: 'label' },
    model: { kind: 'sequential', inputShape: [3], layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.02 },
    training: { epochs, batchSize: 16, validationSplit: 0.1 },
    backend,
  };
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(config));
  return `${name}.json`;
}

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];
