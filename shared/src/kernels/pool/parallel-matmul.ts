import type { Tensor } from '../../tensor/tensor.js';
import type { MatMulOptions } from '../signatures/linear.js';
import type { ThreadPool } from './thread-pool.js';

/**
 * out = op(a)·op(b) with the rows of out split evenly over the pool's threads. On WebAssembly
 * kernels every element is computed exactly as in the unsplit GEMM (Note [determinism] in
 * shared/assembly/gemm.ts), so the result is bitwise independent of the thread count; on native
 * kernels it is within rounding of it. Operands must live in the pool's memory.
 */
export async function parallelMatMul(pool: ThreadPool, a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions = {}): Promise<void> {
  const rows = out.shape[0]!;
  const parts = Math.min(pool.threads, Math.max(1, Math.floor(rows / 4)));
  const view = (t: Tensor) => ({ ptr: t.data.byteOffset, shape: [t.shape[0]!, t.shape[1]!] as [number, number] });
  const tasks: Promise<unknown>[] = [];
  for (let p = 0; p < parts; p++) {
    const rowStart = Math.floor((rows * p) / parts);
    const rowEnd = Math.floor((rows * (p + 1)) / parts);
    tasks.push(pool.run({ kind: 'matMul', a: view(a), b: view(b), out: view(out), options, rowStart, rowEnd }));
  }
  await Promise.all(tasks);
}
