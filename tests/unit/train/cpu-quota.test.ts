import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuQuotaOf, readCgroupCpuFiles, threadsForQuota } from '../../../shared/src/train/cpu-quota.js';

/** Note [threads follow the CPU quota]: the default thread count is the container's CPU limit, not the host's cores. */
describe('the CPU quota of a cgroup', () => {
  it('reads cgroup v2 cpu.max: "max <period>" is no limit, "<quota> <period>" is quota/period CPUs', () => {
    expect(cpuQuotaOf({ cpuMax: 'max 100000\n' })).toBeUndefined();
    expect(cpuQuotaOf({ cpuMax: '200000 100000\n' })).toBe(2);
    expect(cpuQuotaOf({ cpuMax: '150000 100000' })).toBe(1.5);
    expect(cpuQuotaOf({ cpuMax: '50000 100000' })).toBe(0.5);
    expect(cpuQuotaOf({ cpuMax: '400000 50000' })).toBe(8);
  });

  it('reads cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us: a quota of -1 is no limit', () => {
    expect(cpuQuotaOf({ cfsQuotaUs: '-1\n', cfsPeriodUs: '100000\n' })).toBeUndefined();
    expect(cpuQuotaOf({ cfsQuotaUs: '300000\n', cfsPeriodUs: '100000\n' })).toBe(3);
    expect(cpuQuotaOf({ cfsQuotaUs: '300000' })).toBeUndefined(); // no period: no quota can be computed
  });

  it('prefers v2 when both are given, and ignores text that is not a quota (the default must not break)', () => {
    expect(cpuQuotaOf({ cpuMax: '100000 100000', cfsQuotaUs: '400000', cfsPeriodUs: '100000' })).toBe(1);
    for (const cpuMax of ['', 'garbage', '100000', '0 100000', '100000 0', '-5 100000', '1.5 1']) expect(cpuQuotaOf({ cpuMax }), cpuMax).toBeUndefined();
    expect(cpuQuotaOf({ cfsQuotaUs: '0', cfsPeriodUs: '100000' })).toBeUndefined();
    expect(cpuQuotaOf({})).toBeUndefined();
  });

  it('gives floor(quota) threads, at least 1, at most the cores available', () => {
    expect(threadsForQuota(undefined, 64)).toBe(64);
    expect(threadsForQuota(2, 64)).toBe(2);
    expect(threadsForQuota(1.5, 64)).toBe(1);
    expect(threadsForQuota(0.5, 64)).toBe(1);
    expect(threadsForQuota(8, 4)).toBe(4);
    expect(threadsForQuota(3, 3)).toBe(3);
    expect(threadsForQuota(undefined, 0)).toBe(1);
  });

  it('finds the files of a v2 mount, and of a v1 mount under cpu/ or cpu,cpuacct/', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-cgroup-'));
    try {
      const v2 = path.join(root, 'v2');
      mkdirSync(v2);
      writeFileSync(path.join(v2, 'cpu.max'), '200000 100000\n');
      expect(cpuQuotaOf(readCgroupCpuFiles(v2))).toBe(2);
      const v1 = path.join(root, 'v1');
      mkdirSync(path.join(v1, 'cpu,cpuacct'), { recursive: true });
      writeFileSync(path.join(v1, 'cpu,cpuacct', 'cpu.cfs_quota_us'), '250000\n');
      writeFileSync(path.join(v1, 'cpu,cpuacct', 'cpu.cfs_period_us'), '100000\n');
      expect(cpuQuotaOf(readCgroupCpuFiles(v1))).toBe(2.5);
      expect(readCgroupCpuFiles(path.join(root, 'none'))).toEqual({});
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
