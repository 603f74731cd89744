import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '@gradmesh/shared/internal';
import { NATS_CREDENTIAL_SOURCES } from '@gradmesh/transport';

/** A subcommand: its options (node:util parseArgs) and its help text. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<number>;
}

type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface ParsedCommandArgs {
  readonly values: OptionValues;
  readonly positionals: string[];
  /** The options whose value came from the environment, and the variable it came from (flag → variable). */
  readonly fromEnv: ReadonlyMap<string, string>;
}

/**
 * Note [options from the environment]
 * Every option of every command can also come from an environment variable, `GRADMESH_<FLAG>` in upper snake
 * case (`--health-port` → `GRADMESH_HEALTH_PORT`), the way containers are configured (twelve-factor: a pod
 * spec or a compose file sets variables, not argv). The flag wins. The value is put where the flag's would be,
 * so it is validated by exactly the same code; an error about it names the variable, not the flag
 * (`inTermsOfTheSource`). A boolean variable is `true`, `false`, `1` or `0`; an empty variable counts as unset
 * (a manifest's `value: ""` means "not given"). Two kinds of option are not filled in here:
 * - those transport reads the variable of itself, naming the variable in its errors: the NATS credentials
 *   (resolveNatsCredentials; launch hands children their identity that way, and an error never shows the
 *   secret, Note [secrets stay out of sight]) and launch's `--nats-server` (resolveNatsServer). Their names
 *   follow the same rule (a test checks it), so the help lists them like the others;
 * - `--help`.
 * `--nats` is read from GRADMESH_NATS_URL: `GRADMESH_NATS` alone would read as the prefix of the credentials' variables.
 */
const ENV_PREFIX = 'GRADMESH_';
const ENV_NAME_EXCEPTIONS: Readonly<Record<string, string>> = { nats: 'GRADMESH_NATS_URL' };
/** Options whose variable transport reads itself (see above). */
const READ_BY_TRANSPORT: ReadonlySet<string> = new Set([...Object.values(NATS_CREDENTIAL_SOURCES).map((s) => s.flag), 'nats-server']);
const GLOBAL_OPTIONS = { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } } as const;

/** The environment variable that stands in for `--flag` (Note [options from the environment]). */
export function envVariableOf(flag: string): string {
  return ENV_NAME_EXCEPTIONS[flag] ?? `${ENV_PREFIX}${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** A boolean option's value from its variable: true/false/1/0 (any case), anything else is an error naming it. */
export function envBoolean(text: string, variable: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new ConfigError(variable, 'must be true, false, 1 or 0', { value: text });
}

export function parseCommandArgs(command: Command, argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommandArgs {
  const options: NonNullable<ParseArgsConfig['options']> = { ...command.options, ...GLOBAL_OPTIONS };
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (cause) {
    throw new ConfigError(`gradmesh ${command.name}`, `${(cause as Error).message.replace(/\. To specify.*$/s, '')}`, { hint: `see gradmesh ${command.name} --help` });
  }
  const values: OptionValues = { ...parsed.values };
  const fromEnv = new Map<string, string>();
  for (const [flag, option] of Object.entries(options)) {
    if (values[flag] !== undefined || flag === 'help' || READ_BY_TRANSPORT.has(flag)) continue;
    const variable = envVariableOf(flag);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    const value = option.type === 'boolean' ? envBoolean(text, variable) : text;
    values[flag] = option.multiple ? ([value] as string[] | boolean[]) : value;
    fromEnv.set(flag, variable);
  }
  return { values, positionals: parsed.positionals, fromEnv };
}

/**
 * A ConfigError about an option, restated in terms of where its value came from: `GRADMESH_WORKERS: must be …`
 * for a value from the environment; for a missing required option, the variable is offered as well.
 */
export function inTermsOfTheSource(error: unknown, command: Command, fromEnv: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof ConfigError) || !error.field.startsWith('--')) return error;
  const flag = error.field.slice(2);
  const prefix = `${error.field}: `;
  if (!error.message.startsWith(prefix) || !(flag in command.options) || READ_BY_TRANSPORT.has(flag)) return error;
  const rest = error.message.slice(prefix.length);
  const variable = fromEnv.get(flag);
  if (variable !== undefined) return new ConfigError(variable, rest);
  if (rest.startsWith('is required')) return new ConfigError(error.field, `${rest}; or set ${envVariableOf(flag)}`);
  return error;
}

/**
 * `env` without the variables that stand in for the options of `commands`: a parent that passes its
 * children every option as a flag (launch) must not have a variable meant for itself (GRADMESH_RUN,
 * GRADMESH_WORKERS, …) fill an option the child was not given (one GRADMESH_ID for every worker). The
 * credentials' variables are handled by transport (withoutCredentialsEnv / credentialsEnv).
 */
export function withoutOptionVariables(env: NodeJS.ProcessEnv, commands: readonly Command[]): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const command of commands) for (const flag of [...Object.keys(command.options), ...Object.keys(GLOBAL_OPTIONS)]) if (!READ_BY_TRANSPORT.has(flag)) delete out[envVariableOf(flag)];
  return out;
}

/** One line of an option table: the flag padded to `column` (at least one space after it), then its description. */
export function helpRow(flag: string, text: string, column: number): string {
  return `  ${flag.padEnd(column - 3)} ${text}`;
}

export function helpText(command: Command): string {
  return `${command.summary}\n\nUsage: ${command.usage}\n\n${environmentHelp(command)}`;
}

/** The help's list of variables: each option of the command and the variable that stands in for it. */
export function environmentHelp(command: Command): string {
  const flags = [...Object.keys(command.options), 'verbose'];
  const rows = flags.map((flag) => [envVariableOf(flag), `--${flag}`] as const);
  const width = Math.max(...rows.map(([variable]) => variable.length)) + 2;
  return `Environment: each option can come from a variable instead (the flag wins; booleans take true, false, 1 or 0):\n${rows.map(([variable, flag]) => `  ${variable.padEnd(width)}${flag}`).join('\n')}\n`;
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
