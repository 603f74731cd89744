import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI entry point: tests that use it need `npm run build` first (`npm test` builds first). */
export const GRADMESH_BIN = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'), 'bin/gradmesh.js');

export interface CliRun {
  /** The exit code, or null when the process was killed (e.g. by the timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `gradmesh …args` to completion in `cwd` (relative paths in the arguments resolve there).
 * GRADMESH_THREADS=1 gives each run one pool thread whatever the machine's core count, so test
 * files running in parallel do not oversubscribe it; two minutes is the limit for any one command.
 * `env` adds variables (e.g. the test-only GRADMESH_FAULT_NAN).
 */
export function runGradmesh(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const r = spawnSync(process.execPath, [GRADMESH_BIN, ...args], {
    cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, GRADMESH_THREADS: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
