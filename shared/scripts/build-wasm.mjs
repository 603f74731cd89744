#!/usr/bin/env node
/**
 * Compiles the AssemblyScript kernels (shared/assembly/index.ts, which re-exports one file per
 * kernel family) into shared/build/kernels.wasm. Prints one line.
 *
 * Memory: the module IMPORTS a shared memory (`env.memory`) so that every pool thread can
 * instantiate it against the same WebAssembly.Memory. The declared limits are the widest the
 * import may have: initial 1 page (the caller's memory may start larger: an import only needs
 * initial ≥ the declared one) and maximum 65536 pages = 4 GiB, the wasm32 ceiling. A shared memory
 * reserves its maximum as virtual address space only; pages are committed when first touched, so
 * a 4 GiB ceiling costs no RSS. The creator of the memory chooses its own initial/maximum
 * (see shared/src/kernels/wasm/memory.ts).
 *
 * Determinism: the compiler is pinned by package-lock.json and gets the same inputs in the same
 * order, and the output is written to a temporary file and renamed, so concurrent builds (e.g. two
 * test files) never see a half-written module.
 */
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const sharedDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(sharedDir, 'assembly');
const outFile = join(sharedDir, 'build', 'kernels.wasm');
const MAX_PAGES = 65536;

async function main() {
  const started = performance.now();
  // Every family file is reached through index.ts; list them only to fail early if it is missing.
  const sources = (await readdir(sourceDir)).filter((f) => f.endsWith('.ts')).sort();
  if (!sources.includes('index.ts')) throw new Error(`${sourceDir}/index.ts is missing`);
  await mkdir(dirname(outFile), { recursive: true });
  const tmpFile = `${outFile}.${process.pid}.tmp`;
  const errors = [];
  const { error } = await asc.main(
    [
      join(sourceDir, 'index.ts'),
      '--outFile', tmpFile,
      '-O3', '--noAssert',
      '--runtime', 'stub',
      '--enable', 'simd',
      '--enable', 'threads',
      '--importMemory', '--sharedMemory',
      '--initialMemory', '1',
      '--maximumMemory', String(MAX_PAGES),
      // The kernels never abort; this keeps `env.abort` out of the imports.
      '--use', 'abort=',
      '--noColors',
    ],
    {
      stdout: { write: () => true },
      stderr: { write: (s) => (errors.push(String(s)), true) },
    },
  );
  if (error) {
    process.stderr.write(errors.join(''));
    throw error;
  }
  await rename(tmpFile, outFile);
  const { size } = await stat(outFile);
  const ms = Math.round(performance.now() - started);
  console.log(
    `build-wasm: ${relative(process.cwd(), outFile) || outFile} (${(size / 1024).toFixed(1)} KiB, ${sources.length} sources, simd, shared memory ≤ 4 GiB) in ${ms} ms`,
  );
}

main().catch((err) => {
  console.error(`build-wasm: failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
