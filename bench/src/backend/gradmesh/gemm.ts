import { type Backend, createReferenceBackend, Random, type Tensor } from '@gradmesh/shared/internal';

/** A repeatable n×n×n GEMM: `run` computes c = a·b once; 2n³ flops. */
export interface GemmRunner {
  run(): unknown;
  dispose(): Promise<void>;
}

/** Fills a and b with the same uniform values whatever the backend, so every side multiplies the same matrices. */
export function gemmOperand(n: number, seed: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n * n }, () => rng.uniform(-1, 1));
}

function operands(backend: Backend, n: number, persistent: boolean): [Tensor, Tensor, Tensor] {
  const alloc = (shape: [number, number]) => (persistent ? backend.allocPersistent(shape) : backend.alloc(shape));
  const a = alloc([n, n]);
  const b = alloc([n, n]);
  a.data.set(gemmOperand(n, 1));
  b.data.set(gemmOperand(n, 2));
  return [a, b, alloc([n, n])];
}

/**
 * gradmesh `pool` (or `native`) GEMM: the rows of c split evenly over `threads` pool threads, each
 * running the WebAssembly SIMD GEMM (or OpenBLAS's sgemm, one BLAS thread) on the one shared memory
 * (parallelMatMul). With one thread this is the single-core kernel plus one task round trip
 * (≈ 25 µs against ≈ 10–40 ms of work at n = 1024).
 */
export async function poolGemm(n: number, threads: number, kernels: 'wasm' | 'native' = 'wasm'): Promise<GemmRunner> {
  // Loaded on demand, as createModel does: importing the benchmark must not start piscina.
  const { createPoolRuntime, parallelMatMul } = await import('@gradmesh/shared/internal/pool');
  const { pool, backend } = createPoolRuntime(threads, kernels);
  const [a, b, c] = operands(backend, n, true);
  return { run: () => parallelMatMul(pool, a, b, c), dispose: () => pool.destroy() };
}

/** gradmesh `reference` GEMM: the readable TypeScript kernel on the main thread. */
export function referenceGemm(n: number): GemmRunner {
  const backend = createReferenceBackend();
  const [a, b, c] = operands(backend, n, false);
  return { run: () => backend.kernels.matMul(a, b, c), dispose: async () => backend.releaseScratch() };
}
