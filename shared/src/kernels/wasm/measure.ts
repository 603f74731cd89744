import { Random } from '../../random.js';
import { createWasmBackend } from './backend.js';

export interface GemmMeasurement {
  readonly n: number;
  /** GFLOP/s (2·n³ flops per run) of the timed runs: median, min, max. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/**
 * GFLOP/s of one n×n×n matMul on the wasm backend, in the calling thread. Warm-up runs first (V8
 * compiles wasm lazily in tiers), then `runs` timed ones. For benchmarks only, never for tests.
 */
export function measureGemm(n = 1024, runs = 7): GemmMeasurement {
  const backend = createWasmBackend();
  const rng = new Random(1);
  const a = backend.alloc([n, n]);
  const b = backend.alloc([n, n]);
  const c = backend.alloc([n, n]);
  for (let i = 0; i < a.size; i++) a.data[i] = rng.uniform(-1, 1);
  for (let i = 0; i < b.size; i++) b.data[i] = rng.uniform(-1, 1);
  for (let i = 0; i < 2; i++) backend.kernels.matMul(a, b, c);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    backend.kernels.matMul(a, b, c);
    rates.push((2 * n * n * n) / ((performance.now() - started) * 1e6));
  }
  rates.sort((x, y) => x - y);
  backend.releaseScratch();
  return { n, median: rates[Math.floor(rates.length / 2)]!, min: rates[0]!, max: rates[rates.length - 1]!, runs };
}
