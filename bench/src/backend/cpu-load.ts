import { Worker } from 'node:worker_threads';
import { InternalError } from '@gradmesh/shared/internal';

/**
 * How much CPU the machine delivers right now, the way shared/tools/cpu-probe measures it: a
 * fixed busy loop timed alone, then two copies at once. parallelCapacity = 2·single / slower-of-two
 * is ≈ 2 with two free cores and ≈ 1 when other work takes a core. Benchmark figures are only
 * comparable between runs with similar readings, so the benchmark takes one before and one after.
 */
export interface CpuLoad {
  readonly singleMs: number;
  readonly dualMs: number;
  readonly parallelCapacity: number;
}

/** The busy loop: integer work the JIT cannot remove (the sum is returned). ≈ 0.2 s at 4 GHz. */
const SPIN = `
const { parentPort, workerData } = require('node:worker_threads');
const t = performance.now();
let x = 0;
for (let i = 0; i < workerData; i++) x += i & 7;
parentPort.postMessage({ ms: performance.now() - t, x });
`;
const ITERATIONS = 1.2e8;

function spin(): Promise<number> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(SPIN, { eval: true, workerData: ITERATIONS });
    thread.once('message', (m: { ms: number }) => resolve(m.ms));
    thread.once('error', reject);
    thread.once('exit', (code) => {
      if (code !== 0) reject(new InternalError(`the cpu probe thread exited with code ${code}`));
    });
  });
}

export async function probeCpuLoad(): Promise<CpuLoad> {
  const singleMs = await spin();
  const both = await Promise.all([spin(), spin()]);
  const dualMs = Math.max(...both);
  return { singleMs: Math.round(singleMs), dualMs: Math.round(dualMs), parallelCapacity: Math.round((200 * singleMs) / dualMs) / 100 };
}

