import { GradmeshError, InternalError, PreflightError, type ErrorCode } from '@gradmesh/shared/internal';
import { helpText, inTermsOfTheSource, parseCommandArgs, type Command } from './args.js';
import { benchCommand } from './bench-command.js';
import { sampleCommand } from './sample-command.js';
import { trainCommand } from './train-command.js';
import { coordinatorCommand } from './coordinator-command.js';
import { launchCommand } from './launch-command.js';
import { workerCommand } from './worker-command.js';
import { dashboardCommand } from './dashboard-command.js';
import { statusCommand } from './status-command.js';
import { authCommand } from './auth-command.js';
import { predictCommand } from './predict-command.js';
import { evaluateCommand } from './evaluate-command.js';
import { exportCommand } from './export-command.js';
import { experimentCommand } from './experiment-command.js';
import { traceCommand } from './trace-command.js';
import { gradmeshVersion } from './version.js';
import { createLogger, type Logger } from './log/logger.js';

const COMMANDS: readonly Command[] = [trainCommand, launchCommand, coordinatorCommand, workerCommand, statusCommand, authCommand, dashboardCommand, predictCommand, evaluateCommand, exportCommand, sampleCommand, benchCommand, experimentCommand, traceCommand];

const USAGE = `gradmesh — data-parallel neural-network training for Node.js

Usage: gradmesh <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Run \`gradmesh <command> --help\` for a command's options. Add --verbose to see stack traces.
\`gradmesh --version\` (or -V) prints the version.
`;

/** Runs the CLI; returns the exit code (0 ok, 1 run failed, 2 bad input). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`gradmesh ${gradmeshVersion()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`gradmesh: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  let verbose = rest.includes('--verbose');
  let fromEnv: ReadonlyMap<string, string> = new Map();
  let log: Logger | undefined;
  try {
    const parsed = parseCommandArgs(command, rest);
    fromEnv = parsed.fromEnv;
    verbose = parsed.values['verbose'] === true;
    log = errorLogger(command, parsed.values['log-format']);
    if (parsed.values['help']) {
      process.stdout.write(helpText(command));
      return 0;
    }
    return await command.run(parsed.values, parsed.positionals);
  } catch (error) {
    // Each problem of a preflight names its flag, or the variable that gave it, like a single error does.
    const sourced = error instanceof PreflightError ? new PreflightError(error.problems.map((p) => inTermsOfTheSource(p, command, fromEnv) as GradmeshError)) : inTermsOfTheSource(error, command, fromEnv);
    return reportError(sourced, verbose, log);
  }
}

/** With `--log-format json`, the final error is a json line too (Note [one line per event]); else undefined (text). */
function errorLogger(command: Command, format: unknown): Logger | undefined {
  if (format !== 'json' || !('log-format' in command.options)) return undefined;
  return createLogger({ format: 'json', role: command.name });
}

/** Families whose failure the user's input explains; see Note [Error families] in errors.ts. */
const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['E_CONFIG', 'E_DATA', 'E_CHECKPOINT', 'E_PROTOCOL']);

/**
 * One line naming the problem; a stack trace only with --verbose. Input errors exit 2, a failed
 * run exits 1, and an internal error (a gradmesh bug) exits 1 asking for a report.
 */
export function reportError(error: unknown, verbose: boolean, log?: Logger): number {
  if (log !== undefined) return reportErrorAsJson(error, verbose, log);
  if (error instanceof InternalError) {
    process.stderr.write(`gradmesh: internal error: ${error.name}: ${error.message}; this is a bug in gradmesh, please report it with the output of --verbose\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
  if (error instanceof PreflightError) {
    // One line per problem, in the single-error format, then what it means (Note [all problems at once]).
    for (const problem of error.problems) process.stderr.write(`gradmesh: ${problem.name}: ${problem.message}\n`);
    process.stderr.write(`gradmesh: ${error.problems.length} problems found before starting; nothing was run or written\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return 2;
  }
  if (error instanceof GradmeshError) {
    process.stderr.write(`gradmesh: ${error.name}: ${error.message}\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return INPUT_ERROR_CODES.has(error.code) ? 2 : 1;
  }
  process.stderr.write(`gradmesh: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('(run again with --verbose for the stack trace)\n');
  return 1;
}

/** The same outcome as reportError, as one json line: `msg` is the line reportError prints, plus the family. */
function reportErrorAsJson(error: unknown, verbose: boolean, log: Logger): number {
  const stack = verbose && error instanceof Error && error.stack ? { stack: error.stack } : {};
  if (error instanceof InternalError) {
    log.error(`gradmesh: internal error: ${error.name}: ${error.message}; this is a bug in gradmesh, please report it with the output of --verbose`, { event: 'failed', error: error.name, code: error.code, ...stack });
    return 1;
  }
  if (error instanceof PreflightError) {
    for (const p of error.problems) log.error(`gradmesh: ${p.name}: ${p.message}`, { event: 'failed', error: p.name, code: p.code, ...stack });
    log.error(`gradmesh: ${error.problems.length} problems found before starting; nothing was run or written`, { event: 'failed', error: error.name, code: error.code });
    return 2;
  }
  if (error instanceof GradmeshError) {
    log.error(`gradmesh: ${error.name}: ${error.message}`, { event: 'failed', error: error.name, code: error.code, ...stack });
    return INPUT_ERROR_CODES.has(error.code) ? 2 : 1;
  }
  log.error(`gradmesh: unexpected error: ${(error as Error)?.message ?? String(error)}`, { event: 'failed', ...stack });
  return 1;
}
