import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '@gradmesh/shared/internal';

/** A subcommand: its options (node:util parseArgs) and its help text. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<number>;
}

export function parseCommandArgs(command: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new ConfigError(`gradmesh ${command.name}`, `${(cause as Error).message.replace(/\. To specify.*$/s, '')}`, { hint: `see gradmesh ${command.name} --help` });
  }
}

export function helpText(command: Command): string {
  return `${command.summary}\n\nUsage: ${command.usage}\n`;
}

export function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(flag, 'must be a positive integer', { value });
  }
  return n;
}

export function intList(value: unknown, flag: string): number[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]+(,[0-9]+)*$/.test(value)) throw new ConfigError(flag, 'must be a comma-separated list of positive integers', { value });
  const list = value.split(',').map(Number);
  if (list.some((n) => n < 1)) throw new ConfigError(flag, 'values must be ≥ 1', { value });
  return list;
}

/** A duration flag in seconds (decimals allowed, e.g. `--heartbeat-timeout 2.5`); returns milliseconds. */
export function secondsFlag(value: unknown, flag: string, fallbackSeconds: number, maxSeconds = 86_400): number {
  if (value === undefined) return fallbackSeconds * 1000;
  const n = Number(value);
  if (typeof value !== 'string' || !/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0) || n > maxSeconds) {
    throw new ConfigError(flag, `must be a number of seconds in (0, ${maxSeconds}]`, { value });
  }
  return Math.round(n * 1000);
}

/** `--workers N` or `--workers MIN:MAX` (torchrun's `--nnodes`): the fewest and the most workers of a generation. */
export function workerRange(value: unknown, flag: string): { min: number; max: number } | undefined {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? /^([0-9]+)(?::([0-9]+))?$/.exec(value) : null;
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || !Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 1 || max > 65_536) {
    throw new ConfigError(flag, 'must be N or MIN:MAX with 1 ≤ MIN ≤ MAX ≤ 65536', { value, hint: 'e.g. --workers 4, or --workers 2:4 to continue with as few as 2' });
  }
  if (min > max) throw new ConfigError(flag, `MIN (${min}) is larger than MAX (${max})`, { value });
  return { min, max };
}

export function nonNegativeInt(value: unknown, flag: string): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) throw new ConfigError(flag, 'must be an integer ≥ 0', { value });
  return n;
}
