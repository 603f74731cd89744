#!/usr/bin/env node
/**
 * Builds the native kernels addon (shared/native: cblas_sgemm through N-API) into
 * shared/build/native/gradmesh_native.node with the node-gyp that ships with npm, offline:
 * `--nodedir` is the prefix of the running node (its headers are in <prefix>/include/node, e.g.
 * /usr/include/node from Debian's nodejs), so node-gyp downloads nothing. Links Debian's OpenBLAS
 * (`apt-get install libopenblas-dev`).
 *
 * Never fails the build: where the addon cannot be built (no compiler, no OpenBLAS, no headers) it
 * prints one line, removes any stale addon and records the reason in build-error.txt beside it;
 * the `native` backend then falls back to `pool` at run time and prints that reason.
 * Skips the compiler when the addon is newer than its sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const sharedDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(sharedDir, 'native');
const outDir = join(sharedDir, 'build', 'native');
const outFile = join(outDir, 'gradmesh_native.node');
const errorFile = join(outDir, 'build-error.txt');
const sources = ['sgemm.c', 'batch_norm.c', 'batch_norm.h', 'adam.c', 'adam.h', 'rank_order_sum.c', 'rank_order_sum.h', 'bulk_floats.c', 'bulk_floats.h', 'float_view.h', 'shared_memory.c', 'shared_memory.h', 'binding.gyp'].map((f) => join(sourceDir, f));

/** node-gyp as shipped inside npm: beside the running node, or beside the npm running this script. */
function nodeGypScript() {
  const candidates = [
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const npmCli = process.env['npm_execpath'];
  if (npmCli) candidates.push(join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => existsSync(c));
}

function upToDate() {
  if (!existsSync(outFile)) return false;
  const built = statSync(outFile).mtimeMs;
  return sources.every((s) => statSync(s).mtimeMs <= built);
}

function fail(reason) {
  rmSync(outFile, { force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(errorFile, `${reason}\n`);
  console.log(`build-native: not built (${reason}); the native backend will fall back to pool`);
}

function main() {
  const started = performance.now();
  if (upToDate()) {
    console.log(`build-native: ${relative(process.cwd(), outFile)} is up to date`);
    return;
  }
  const nodeGyp = nodeGypScript();
  if (!nodeGyp) return fail('node-gyp not found beside node or npm');
  // Note: the prefix of process.execPath (/usr for /usr/bin/node); node-gyp reads <nodedir>/include/node.
  const nodedir = dirname(dirname(process.execPath));
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) return fail(`no Node headers in ${join(nodedir, 'include', 'node')}`);
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=error'], {
    cwd: sourceDir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_offline: 'true' },
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
    const firstError = output.split('\n').find((l) => /error|not found|No such file/i.test(l) && !/^gyp (ERR|info)/.test(l));
    const hint = /cblas\.h|lopenblas/.test(output) ? 'OpenBLAS missing: apt-get install libopenblas-dev' : (firstError ?? 'node-gyp failed').trim();
    return fail(hint);
  }
  mkdirSync(outDir, { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  copyFileSync(join(sourceDir, 'build', 'Release', 'gradmesh_native.node'), tmp);
  renameSync(tmp, outFile);
  rmSync(errorFile, { force: true });
  console.log(`build-native: ${relative(process.cwd(), outFile)} (OpenBLAS sgemm, N-API) in ${Math.round(performance.now() - started)} ms`);
}

main();
