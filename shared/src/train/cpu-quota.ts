import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Note [threads follow the CPU quota]
 * In a container, `os.availableParallelism()` counts the host's cores (or the cpuset), not the CPU limit:
 * a pod limited to 2 CPUs on a 64-core node would start 64 pool threads and be throttled by the kernel's
 * CFS quota every period — and a synchronous step waits for its slowest rank. So the default thread count
 * is the cgroup's CPU quota (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us / cpu.cfs_period_us`), rounded
 * down (a fraction of a CPU is no thread; at least 1), and never more than the cores available. This is
 * what Go's automaxprocs does for GOMAXPROCS.
 */

/** What the cgroup files hold (their text as read; undefined when absent). */
export interface CgroupCpuFiles {
  /** cgroup v2 `cpu.max`: `"<quota> <period>"` or `"max <period>"`. */
  readonly cpuMax?: string | undefined;
  /** cgroup v1 `cpu.cfs_quota_us`: microseconds per period, `-1` = no limit. */
  readonly cfsQuotaUs?: string | undefined;
  /** cgroup v1 `cpu.cfs_period_us`. */
  readonly cfsPeriodUs?: string | undefined;
}

/**
 * The CPU limit the files state, in CPUs (may be fractional: `150000 100000` is 1.5); undefined for no
 * limit, or for text that is not a quota (a kernel with a format of its own must not break the default).
 * cgroup v2 wins when both are there.
 */
export function cpuQuotaOf(files: CgroupCpuFiles): number | undefined {
  if (files.cpuMax !== undefined) {
    const m = /^\s*(max|[0-9]+)\s+([0-9]+)\s*$/.exec(files.cpuMax);
    if (m !== null) return m[1] === 'max' ? undefined : ratio(Number(m[1]), Number(m[2]));
  }
  if (files.cfsQuotaUs !== undefined && files.cfsPeriodUs !== undefined) {
    const quota = /^\s*(-?[0-9]+)\s*$/.exec(files.cfsQuotaUs);
    const period = /^\s*([0-9]+)\s*$/.exec(files.cfsPeriodUs);
    if (quota !== null && period !== null && Number(quota[1]) > 0) return ratio(Number(quota[1]), Number(period[1]));
  }
  return undefined;
}

function ratio(quota: number, period: number): number | undefined {
  return quota > 0 && period > 0 && Number.isSafeInteger(quota) && Number.isSafeInteger(period) ? quota / period : undefined;
}

/** Compute threads for a quota (CPUs, undefined = none) on `available` cores: see Note [threads follow the CPU quota]. */
export function threadsForQuota(quota: number | undefined, available: number): number {
  const cores = Math.max(1, Math.floor(available));
  if (quota === undefined) return cores;
  return Math.max(1, Math.min(cores, Math.floor(quota + 1e-9)));
}

/** The cgroup files of this process, as mounted in a container (cgroup namespace) or on a cgroup v1/v2 host. */
export function readCgroupCpuFiles(root = '/sys/fs/cgroup'): CgroupCpuFiles {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(`${root}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const cpuMax = read('cpu.max');
  if (cpuMax !== undefined) return { cpuMax };
  // v1 mounts the controller as cpu, or cpu,cpuacct (a symlink to it on most distributions).
  for (const dir of ['cpu', 'cpu,cpuacct']) {
    const cfsQuotaUs = read(`${dir}/cpu.cfs_quota_us`);
    if (cfsQuotaUs !== undefined) return { cfsQuotaUs, cfsPeriodUs: read(`${dir}/cpu.cfs_period_us`) };
  }
  return {};
}

let cached: number | undefined;

/** Default compute threads of this process: the cores available, capped by the container's CPU quota. */
export function availableCpus(): number {
  cached ??= threadsForQuota(cpuQuotaOf(readCgroupCpuFiles()), os.availableParallelism());
  return cached;
}
