import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../errors.js';

/**
 * How much parallel compute the machine has free right now, the way /work/shared/tools/cpu-probe measures it: a
 * fixed integer loop timed alone, then one copy per core at once. parallelCapacity = cores · single / slowest
 * parallel copy ≈ the number of free cores (2.0 on an idle 2-core machine, ≈ 1 when other work takes a core).
 *
 * Note [load with every result]: the machine is shared and its speed swings, so every benchmark figure and every
 * measured experiment result is stored with a reading taken in the same run (bench's before/after, the scaling
 * runner's before every combination). One probe serves both (bench/src/backend/cpu-load.ts,
 * experiment/src/measure/cpu-probe.ts adapt its reading to their reports).
 */
export interface CpuLoadReading {
  /** ms for the loop alone. */
  readonly singleMs: number;
  /** ms of the slowest of `cores` copies run at once. */
  readonly parallelMs: number;
  /** cores · singleMs / parallelMs. */
  readonly parallelCapacity: number;
}

/** The busy loop: integer work the JIT cannot remove (the sum is returned). */
const SPIN = `
const { parentPort, workerData } = require('node:worker_threads');
const t = performance.now();
let x = 0;
for (let i = 0; i < workerData; i++) x += i & 7;
parentPort.postMessage({ ms: performance.now() - t, x });
`;

function spin(iterations: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(SPIN, { eval: true, workerData: iterations });
    thread.once('message', (m: { ms: number }) => resolve(m.ms));
    thread.once('error', reject);
    thread.once('exit', (code) => {
      if (code !== 0) reject(new InternalError(`the cpu probe thread exited with code ${code}`));
    });
  });
}

/** `iterations` of the loop: 1.2e8 ≈ 0.2 s, 4e8 ≈ 0.3–0.7 s on an idle core of this machine. */
export async function probeCpuLoad(options: { cores?: number; iterations?: number } = {}): Promise<CpuLoadReading> {
  const cores = options.cores ?? os.availableParallelism();
  const iterations = options.iterations ?? 1.2e8;
  const singleMs = await spin(iterations);
  const parallelMs = Math.max(...(await Promise.all(Array.from({ length: cores }, () => spin(iterations)))));
  return { singleMs: Math.round(singleMs), parallelMs: Math.round(parallelMs), parallelCapacity: Math.round((100 * cores * singleMs) / parallelMs) / 100 };
}
