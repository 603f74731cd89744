import { GradmeshError, InternalError, type ErrorCode } from '@gradmesh/shared/internal';
import { helpText, parseCommandArgs, type Command } from './args.js';
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

const COMMANDS: readonly Command[] = [trainCommand, launchCommand, coordinatorCommand, workerCommand, statusCommand, authCommand, dashboardCommand, predictCommand, evaluateCommand, exportCommand, sampleCommand, benchCommand, experimentCommand];

const USAGE = `gradmesh — data-parallel neural-network training for Node.js

Usage: gradmesh <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Run \`gradmesh <command> --help\` for a command's options. Add --verbose to see stack traces.
`;

/** Runs the CLI; returns the exit code (0 ok, 1 run failed, 2 bad input). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`gradmesh: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  const verbose = rest.includes('--verbose');
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values['help']) {
      process.stdout.write(helpText(command));
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    return reportError(error, verbose);
  }
}

/** Families whose failure the user's input explains; see Note [Error families] in errors.ts. */
const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['E_CONFIG', 'E_DATA', 'E_CHECKPOINT', 'E_PROTOCOL']);

/**
 * One line naming the problem; a stack trace only with --verbose. Input errors exit 2, a failed
 * run exits 1, and an internal error (a gradmesh bug) exits 1 asking for a report.
 */
export function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof InternalError) {
    process.stderr.write(`gradmesh: internal error: ${error.name}: ${error.message}; this is a bug in gradmesh, please report it with the output of --verbose\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return 1;
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
