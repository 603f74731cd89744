/**
 * The one kernel suite runs over every backend (tfjs-core's describeWithFlags idea): each test is
 * written once against a Backend and compared with the reference kernels on ordinary heap arrays.
 * For 'reference' the comparison is the oracle against itself and must pass exactly; for 'wasm'
 * and 'native' every tensor comes from the backend's arenas, as in training. 'native' runs where
 * its addon loads and passes the self-check (npm run build makes it when OpenBLAS is installed);
 * elsewhere its suites are skipped, with the reason in their title.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe } from 'vitest';
import type { Backend } from '../../../shared/src/kernels/backend.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { createNativeBackend } from '../../../shared/src/kernels/native/backend.js';
import { nativeAvailability } from '../../../shared/src/kernels/native/availability.js';
import { createWasmBackend } from '../../../shared/src/kernels/wasm/backend.js';
import { KERNELS_WASM_URL } from '../../../shared/src/kernels/wasm/module.js';

const sharedDir = fileURLToPath(new URL('../../../shared/', import.meta.url));

/**
 * Builds shared/build/kernels.wasm when it is missing or older than an AssemblyScript source, so
 * `vitest run tests/unit/kernels` tests the current sources without a separate build step.
 */
export function ensureWasmBuilt(): void {
  const wasm = fileURLToPath(KERNELS_WASM_URL);
  let built = 0;
  try {
    built = statSync(wasm).mtimeMs;
  } catch {
    built = 0;
  }
  const sources = readdirSync(`${sharedDir}assembly`).map((f) => statSync(`${sharedDir}assembly/${f}`).mtimeMs);
  if (built === 0 || sources.some((t) => t > built)) {
    execFileSync(process.execPath, [`${sharedDir}scripts/build-wasm.mjs`], { stdio: 'pipe' });
  }
}

export interface BackendCase {
  readonly name: string;
  readonly create: () => Backend;
  /** Why this backend cannot run here, if it cannot. */
  readonly unavailable?: () => string | undefined;
}

/** Whether the native backend runs in this process (decided once, as a run decides it). */
export function nativeUnavailable(): string | undefined {
  ensureWasmBuilt();
  const native = nativeAvailability(createWasmBackend());
  return native.available ? undefined : native.reason;
}

export const BACKENDS: readonly BackendCase[] = [
  { name: 'reference', create: createReferenceBackend },
  {
    name: 'wasm',
    create: () => {
      ensureWasmBuilt();
      return createWasmBackend();
    },
  },
  { name: 'native', create: () => createNativeBackend(), unavailable: nativeUnavailable },
];

/** Declares `body` once per backend; `get()` gives that backend inside tests. Scratch is freed after each test. */
export function describeEachBackend(title: string, body: (get: () => Backend) => void): void {
  for (const c of BACKENDS) {
    const unavailable = c.unavailable?.();
    if (unavailable !== undefined) {
      describe.skip(`${title} [${c.name}: ${unavailable}]`, () => body(() => { throw new Error('skipped'); }));
      continue;
    }
    describe(`${title} [${c.name}]`, () => {
      let backend: Backend | undefined;
      beforeAll(() => {
        backend = c.create();
      });
      afterEach(() => backend?.releaseScratch());
      body(() => {
        if (!backend) throw new Error('backend not created yet');
        return backend;
      });
    });
  }
}
