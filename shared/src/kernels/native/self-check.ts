import { BackendError } from '../../errors.js';
import { Random } from '../../random.js';
import type { Backend } from '../backend.js';
import type { MatMulOptions } from '../signatures/linear.js';
import type { NativeAddon } from './addon.js';

/**
 * Note [self-check]: a wrong OPENBLAS_CORETYPE (a kernel the CPU lacks instructions for, or a
 * broken build) shows as a crash or as wrong numbers, not as an error code. Before a run uses the
 * addon, one GEMM per transpose variant, on sizes that are multiples of no tile or vector width,
 * is compared with the WebAssembly kernel on the same operands. Both sum k products in float32,
 * in different orders, so they agree to a few ulps per product (operands in [−1, 1)); a wrong
 * kernel misses by a large fraction of a unit.
 */
const M = 37;
const N = 29;
const K = 131;
const TOLERANCE = 1e-5;

/** Largest |native − wasm| ÷ k (an error per product) over the variants; throws a BackendError above TOLERANCE. */
export function nativeSelfCheck(addon: NativeAddon, wasm: Backend): number {
  const rng = new Random(18);
  let worst = 0;
  for (const options of [{}, { transposeA: true }, { transposeB: true }, { transposeA: true, transposeB: true, accumulate: true }] as MatMulOptions[]) {
    const a = wasm.alloc(options.transposeA ? [K, M] : [M, K]);
    const b = wasm.alloc(options.transposeB ? [N, K] : [K, N]);
    const expected = wasm.alloc([M, N]);
    const actual = wasm.alloc([M, N]);
    for (const t of [a, b]) for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-1, 1);
    for (let i = 0; i < M * N; i++) expected.data[i] = actual.data[i] = rng.uniform(-1, 1);
    wasm.kernels.matMul(a, b, expected, options);
    addon.sgemm(a.data, b.data, actual.data, M, N, K, options.transposeA ? M : K, options.transposeB ? K : N, N, options.transposeA === true, options.transposeB === true, options.accumulate ? 1 : 0);
    for (let i = 0; i < M * N; i++) {
      const error = Math.abs(actual.data[i]! - expected.data[i]!) / K;
      if (!(error <= worst)) worst = Number.isNaN(error) ? Infinity : error;
    }
  }
  wasm.releaseScratch();
  if (!(worst <= TOLERANCE)) {
    throw new BackendError(`OpenBLAS (${addon.coreName()} kernels) disagrees with the WebAssembly GEMM by ${worst.toExponential(2)} per product (tolerance ${TOLERANCE})`, {
      hint: 'set OPENBLAS_CORETYPE to a core type this CPU supports (e.g. Haswell), or use --backend pool',
    });
  }
  return worst;
}
