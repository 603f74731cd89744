import { gemmOperand, type GemmRunner } from '../gradmesh/gemm.js';
import type { Tfjs } from './runtime.js';

/**
 * tf.matMul of n×n matrices on the ACTIVE tfjs backend, read back with dataSync so a run includes
 * the work (the wasm and cpu backends compute synchronously; the read also copies n² floats out,
 * ≈ 1 % of a 1024 GEMM on wasm). Same operands as the gradmesh side.
 */
export function tfjsGemm(tf: Tfjs, n: number): GemmRunner {
  const a = tf.tensor2d(gemmOperand(n, 1), [n, n]);
  const b = tf.tensor2d(gemmOperand(n, 2), [n, n]);
  return {
    run() {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
    dispose: async () => tf.dispose([a, b]),
  };
}
