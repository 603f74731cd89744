import { probeCpuLoad as probeSharedCpuLoad } from '@gradmesh/shared/internal';

/**
 * How much CPU the machine delivers right now (shared/src/monitor/cpu-load.ts, Note [load with every result]):
 * parallelCapacity is ≈ 2 with two free cores and ≈ 1 when other work takes a core. Benchmark figures are only
 * comparable between runs with similar readings, so the benchmark takes one before and one after.
 */
export interface CpuLoad {
  readonly singleMs: number;
  readonly dualMs: number;
  readonly parallelCapacity: number;
}

/** Two copies, as the benchmark reports have always recorded them (`dualMs`); the probe is shared's. */
export async function probeCpuLoad(): Promise<CpuLoad> {
  const r = await probeSharedCpuLoad({ cores: 2, iterations: 1.2e8 });
  return { singleMs: r.singleMs, dualMs: r.parallelMs, parallelCapacity: r.parallelCapacity };
}
