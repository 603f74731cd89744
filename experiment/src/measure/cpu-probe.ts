import os from 'node:os';
import { probeCpuLoad, type CpuLoadReading } from '@gradmesh/shared/internal';

/** How much parallel compute the machine had free when the probe ran (cores · single / parallel ≈ free cores). */
export type LoadReading = CpuLoadReading;

/** The reading stored with every result (Note [load with every result] in shared/src/monitor/cpu-load.ts). */
export async function probeLoad(cores = os.availableParallelism()): Promise<LoadReading> {
  return probeCpuLoad({ cores, iterations: 4e8 });
}
