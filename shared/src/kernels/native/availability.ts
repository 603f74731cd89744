import { GradmeshError } from '../../errors.js';
import type { Backend } from '../backend.js';
import { createWasmBackend } from '../wasm/backend.js';
import { nativeAddon } from './addon.js';
import { applyOpenblasEnvironment } from './openblas-environment.js';
import { nativeSelfCheck } from './self-check.js';

export type NativeAvailability =
  | { readonly available: true; readonly coreName: string; readonly coreTypeSet: string | undefined; readonly selfCheckError: number }
  | { readonly available: false; readonly reason: string };

let decided: NativeAvailability | undefined;

/**
 * Whether this process can run the native backend: chooses OpenBLAS's environment (Note [core
 * type]) before the library first loads, loads the addon, and runs the self-check (Note
 * [self-check]) against `wasm`, a WebAssembly backend. Decided once per process, on the main
 * thread, before any pool thread loads the addon.
 */
export function nativeAvailability(wasm: Backend): NativeAvailability {
  if (decided) return decided;
  try {
    const chosen = applyOpenblasEnvironment();
    const addon = nativeAddon();
    const selfCheckError = nativeSelfCheck(addon, wasm);
    decided = { available: true, coreName: addon.coreName(), coreTypeSet: chosen['OPENBLAS_CORETYPE'], selfCheckError };
  } catch (error) {
    if (!(error instanceof GradmeshError)) throw error;
    decided = { available: false, reason: error.message };
  }
  return decided;
}

/** What nativeAvailability decided in this process, if it was asked (a run that fell back says so in its report). */
export function nativeDecided(): NativeAvailability | undefined {
  return decided;
}

/** nativeAvailability for callers without a WebAssembly backend at hand (the benchmark): checks on a backend of its own. */
export function nativeAvailabilityOnOwnMemory(): NativeAvailability {
  return decided ?? nativeAvailability(createWasmBackend());
}

/** The one line a run prints when it was asked for native and runs pool instead. */
export function nativeFallbackLine(reason: string): string {
  return `gradmesh: backend native unavailable (${reason}); using pool (WebAssembly SIMD) instead`;
}
