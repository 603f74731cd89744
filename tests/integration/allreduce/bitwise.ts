import { expect } from 'vitest';
import type { AllReduce } from '../../../worker/src/allreduce/allreduce.js';
import { firstBitDifference } from './cluster.js';

/** Runs one all-reduce step on every rank with copies of `inputs` (whatever carries the pieces); returns each rank's result. */
export async function reduceOnAll(cluster: { readonly ranks: readonly AllReduce[] }, step: number, inputs: readonly Float32Array[]): Promise<Float32Array[]> {
  const outputs = inputs.map((v) => v.slice());
  await Promise.all(cluster.ranks.map((r, k) => r.allReduce(step, outputs[k] as Float32Array)));
  return outputs;
}

/** Every rank's result has exactly the bits of `expected`; the message names the rank and the first element that differs. */
export function expectBitwiseEqual(outputs: readonly Float32Array[], expected: Float32Array): void {
  outputs.forEach((out, rank) => {
    const at = firstBitDifference(out, expected);
    expect(at, `rank ${rank} differs from the rank-order sum at element ${at}: ${out[at]} vs ${expected[at]}`).toBe(-1);
  });
}
