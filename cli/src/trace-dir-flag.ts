import { helpRow } from './args.js';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@gradmesh/shared/internal';

const HINT = 'create it first; every worker writes <dir>/<workerId>.trace.json when it exits';

/**
 * `--trace-dir <dir>` of `gradmesh worker`, `launch` and `train` (Note [step traces]): the directory, absolute,
 * after checking that it exists and can be written — so a typo stops the worker at once (exit 2), not after a
 * whole run whose trace then has nowhere to go.
 */
export function traceDirFlag(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ConfigError('--trace-dir', 'must name a directory', { value, hint: HINT });
  let isDirectory: boolean;
  try {
    isDirectory = statSync(value).isDirectory();
    if (isDirectory) accessSync(value, constants.W_OK);
  } catch (error) {
    throw new ConfigError('--trace-dir', `cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { value, hint: HINT });
  }
  if (!isDirectory) throw new ConfigError('--trace-dir', 'is not a directory', { value, hint: HINT });
  return path.resolve(value);
}

/** The file a worker writes its trace to. */
export function traceFileOf(dir: string, workerId: string): string {
  return path.join(dir, `${workerId}.trace.json`);
}

/** Help line(s) for the flag, descriptions starting at `column`. */
export function traceDirUsage(column: number, who: 'worker' | 'launch'): string {
  const row = (flag: string, text: string) => helpRow(flag, text, column);
  const subject = who === 'worker' ? 'on exit, write' : 'each worker writes, on exit,';
  return [
    row('--trace-dir <dir>', `${subject} when each step's phases ran (compute, bucket releases, exposed`),
    row('', 'all-reduce, update, reply) to <dir>/<workerId>.trace.json, a Chrome trace (Perfetto,'),
    row('', 'chrome://tracing); `gradmesh trace <dir>` merges and summarizes them'),
  ].join('\n');
}
