import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** How much parallel compute the machine had free when the probe ran. */
export interface LoadReading {
  /** ms for one fixed loop alone. */
  readonly singleMs: number;
  /** ms for the same loop on every core at once (the slowest copy). */
  readonly parallelMs: number;
  /** cores × singleMs / parallelMs: ≈ how many cores were free (the cpu-probe reading). */
  readonly parallelCapacity: number;
}

/** The spin loop of /work/shared/tools/cpu-probe (≈ 0.3 s on an idle core here), so readings compare. */
const LOOP = `
const { parentPort } = require('node:worker_threads');
const t0 = performance.now();
let x = 0;
for (let i = 0; i < 4e8; i++) x += i & 7;
parentPort.postMessage({ ms: performance.now() - t0, x });
`;

/**
 * Note [load with every result]: the machine is shared, so every measured figure is stored with a reading of
 * how loaded it was. The probe times a fixed integer loop once alone and then once per core in parallel; on an
 * idle machine both take the same time and the capacity equals the core count.
 */
export async function probeLoad(cores = os.availableParallelism()): Promise<LoadReading> {
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const w = new Worker(LOOP, { eval: true });
      w.once('message', (m: { ms: number }) => (resolve(m.ms), void w.terminate()));
      w.once('error', reject);
    });
  const singleMs = await once();
  const parallelMs = Math.max(...(await Promise.all(Array.from({ length: cores }, once))));
  return { singleMs: Math.round(singleMs), parallelMs: Math.round(parallelMs), parallelCapacity: +((cores * singleMs) / parallelMs).toFixed(2) };
}
