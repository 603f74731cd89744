import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { BackendError, GradmeshError } from '../../errors.js';
import { applyOpenblasEnvironment } from './openblas-environment.js';

/**
 * The compiled addon (shared/native, built by shared/scripts/build-native.mjs). The path is the
 * same from shared/src/kernels/native and shared/dist/kernels/native: three levels up is shared/.
 */
export const NATIVE_ADDON_URL = new URL('../../../build/native/gradmesh_native.node', import.meta.url);
const BUILD_ERROR_URL = new URL('../../../build/native/build-error.txt', import.meta.url);

/** The addon's exports (shared/native/sgemm.c). */
export interface NativeAddon {
  /** c[m, n] = op(a)[m, k] · op(b)[k, n] + beta · c, row-major, with row strides lda, ldb, ldc. */
  sgemm(
    a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
    lda: number, ldb: number, ldc: number, transA: boolean, transB: boolean, beta: number,
  ): void;
  /** BatchNorm training forward over x viewed as [m, c] (shared/native/batch_norm.c). */
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, out: Float32Array, mean: Float32Array, variance: Float32Array, m: number, c: number): void;
  /** BatchNorm training backward over [m, c]. */
  batchNormBackward(
    dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, variance: Float32Array, eps: number,
    dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array, m: number, c: number,
  ): void;
  /** Adam's fused update in place (shared/native/adam.c); the scalars as wasm/optimizer.ts passes them. */
  adam(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, eps: number, c1: number, c2: number, decay: number, l2: number,
  ): void;
  /**
   * out[i] = (…(s0[i] + s1[i]) + …) + s(N−1)[i] in float32, the all-reduce's rank-order sum
   * (shared/native/rank_order_sum.c); out may be sources[0] itself. Absent from an addon built before it.
   */
  sumInRankOrder?(out: Float32Array, sources: readonly Float32Array[]): void;
  /** dst ← src (memmove) for two Float32Arrays of one length (shared/native/bulk_floats.c). Absent from an addon built before it. */
  copyFloats?(dst: Float32Array, src: Float32Array): void;
  /** Whether no element is NaN or ±Infinity (shared/native/bulk_floats.c). Absent from an addon built before it. */
  allFinite?(values: Float32Array): boolean;
  /**
   * The first `bytes` of the open file `fd` mapped MAP_SHARED (read-only unless `writable`), unmapped when the buffer
   * is collected; a RangeError when the file is shorter (shared/native/shared_memory.c). Absent from an addon built before it.
   */
  mapSharedFile?(fd: number, bytes: number, writable: boolean): ArrayBuffer;
  /** Reserves bytes [offset, offset + bytes) of the file (posix_fallocate); whether it could (Note [reserve before writing]). */
  reserveFileRange?(fd: number, offset: number, bytes: number): boolean;
  /** Detaches and unmaps a buffer mapSharedFile returned (Note [unmapped when closed]); nothing for any other or a second time. */
  unmapShared?(buffer: ArrayBuffer): void;
  /** OpenBLAS's name for the kernels it uses, e.g. "SkylakeX". */
  coreName(): string;
  /** OpenBLAS's build description (version, DYNAMIC_ARCH, …). */
  config(): string;
  threads(): number;
}

let loaded: NativeAddon | undefined;

/** The addon, loaded once per thread. Throws a BackendError saying why it cannot be. */
export function nativeAddon(): NativeAddon {
  if (loaded) return loaded;
  const file = fileURLToPath(NATIVE_ADDON_URL);
  if (!existsSync(file)) {
    if (existsSync(fileURLToPath(BUILD_ERROR_URL))) {
      const why = readFileSync(BUILD_ERROR_URL, 'utf8').trim();
      throw new BackendError(`the native addon did not build: ${why}`, { hint: 'then run `npm run build` again' });
    }
    throw new BackendError(`the native addon is not built: ${file} is missing`, { hint: 'install libopenblas-dev and a C compiler, then run `npm run build`' });
  }
  try {
    loaded = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new BackendError(`the native addon does not load: ${reason}`, { hint: 'rebuild it with `npm run build` (is libopenblas0 installed?)', cause });
  }
  return loaded;
}

/**
 * The addon for a caller outside the native backend (the worker's all-reduce, on its main thread), or the
 * reason it cannot be had. Loading the addon loads OpenBLAS, which reads its environment once, so on the main
 * thread the backend's choice (Note [core type], Note [one BLAS thread]) is applied first, exactly as
 * nativeAvailability does: whichever loads the addon first, OpenBLAS starts the same way.
 */
export function nativeAddonOrReason(): NativeAddon | { readonly reason: string } {
  if (loaded) return loaded;
  try {
    if (isMainThread) applyOpenblasEnvironment();
    return nativeAddon();
  } catch (error) {
    if (!(error instanceof GradmeshError)) throw error;
    return { reason: error.message };
  }
}
