import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Note [tests run what ships]
 * Test files run the TypeScript sources (vitest aliases every @gradmesh package to its src), but pool threads,
 * the CLI processes the cluster tests spawn and the public-API test run the compiled dist. A dist older than
 * its sources would be tested by accident, so before any test file loads this brings the build up to date:
 * `tsc -b` over every package (incremental: a no-op in under a second when nothing changed; it compares file
 * contents, so a touched but unchanged source costs nothing) and the WebAssembly build when an AssemblyScript
 * source is newer than the module. A build that fails stops the run with its first error line.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default function setup(): void {
  if (wasmIsStale()) run('WebAssembly build', [path.join(ROOT, 'shared/scripts/build-wasm.mjs')]);
  run('TypeScript build (tsc -b)', [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-b']);
}

function run(what: string, args: string[]): void {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return;
  const first = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim() !== '') ?? `exit ${r.status ?? r.signal}`;
  throw new Error(`tests need an up-to-date build, and the ${what} failed: ${first.trim()}`);
}

function wasmIsStale(): boolean {
  const wasm = path.join(ROOT, 'shared/build/kernels.wasm');
  if (!existsSync(wasm)) return true;
  const built = statSync(wasm).mtimeMs;
  const assembly = path.join(ROOT, 'shared/assembly');
  const inputs = [path.join(ROOT, 'shared/scripts/build-wasm.mjs'), ...readdirSync(assembly).map((f) => path.join(assembly, f))];
  return inputs.some((f) => statSync(f).mtimeMs > built);
}
