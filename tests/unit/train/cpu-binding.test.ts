import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundCommand, findTaskset, formatCpuList, parseCpuList, planCpuBinding, readAllowedCpus, type LogicalCpu } from '../../../shared/src/train/cpu-binding.js';

/** Logical CPUs numbered as Linux numbers an SMT machine: cpu c and cpu c + cores are the two threads of core c. */
function smt(cores: number, sockets = 1): LogicalCpu[] {
  const cpus: LogicalCpu[] = [];
  const perSocket = cores / sockets;
  for (let thread = 0; thread < 2; thread++) for (let c = 0; c < cores; c++) cpus.push({ id: thread * cores + c, socket: Math.floor(c / perSocket), core: c % perSocket });
  return cpus;
}

const flat = (n: number): LogicalCpu[] => Array.from({ length: n }, (_, id) => ({ id, socket: 0, core: id }));

describe('CPU lists', () => {
  it('parse ranges and single ids into sorted unique ids, and format back', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('1')).toEqual([1]);
    expect(parseCpuList('3,1,1-2')).toEqual([1, 2, 3]);
    expect(formatCpuList([0, 1, 2, 3, 8, 10, 11])).toBe('0-3,8,10-11');
    expect(formatCpuList([5])).toBe('5');
    expect(formatCpuList([2, 0, 1])).toBe('0-2');
  });

  it('refuse what is not a CPU list (a kernel format of its own must not bind anything)', () => {
    for (const bad of ['', ' ', '0-', '3-1', 'a', '0,,1', '0-1-2', '0x1']) expect(parseCpuList(bad), bad).toBeUndefined();
  });
});

/** Note [workers bound to cores]. */
describe('the plan of which CPUs each launch worker gets', () => {
  it('2 workers × 1 thread on 2 CPUs: worker k on CPU k', () => {
    expect(planCpuBinding(flat(2), 2, 1, 2)).toEqual({ bound: true, sets: [[0], [1]] });
  });

  it('gives each worker whole cores, never the hyperthreads of another worker\'s core', () => {
    // 4 cores × 2 threads: cpu c and c + 4 share core c.
    const plan = planCpuBinding(smt(4), 2, 4, 8);
    expect(plan).toEqual({ bound: true, sets: [[0, 1, 4, 5], [2, 3, 6, 7]] });
    // One thread each still takes a block of whole cores: the main thread and the pool thread on one core's siblings.
    expect(planCpuBinding(smt(2), 2, 1, 4)).toEqual({ bound: true, sets: [[0, 2], [1, 3]] });
  });

  it('3 workers on 4 cores × 2 threads: one whole core each (the fourth left over), not blocks of 2 logical CPUs that split a core', () => {
    expect(planCpuBinding(smt(4), 3, 1, 8)).toEqual({ bound: true, sets: [[0, 4], [1, 5], [2, 6]] });
    // 3 cores × 2 threads, 2 workers × 3 threads: one whole core each gives 2 < 3 CPUs, so logical blocks (core 1 split).
    expect(planCpuBinding(smt(3), 2, 3, 6)).toEqual({ bound: true, sets: [[0, 1, 3], [2, 4, 5]] });
  });

  it('keeps a worker within one socket when the blocks allow it', () => {
    const plan = planCpuBinding(smt(8, 2), 2, 8, 16);
    expect(plan.bound).toBe(true);
    if (!plan.bound) return;
    const socketOf = new Map(smt(8, 2).map((c) => [c.id, c.socket]));
    for (const set of plan.sets) expect(new Set(set.map((id) => socketOf.get(id))).size).toBe(1);
  });

  it('the blocks are disjoint and equal, and a remainder CPU is left to the coordinator and nats-server', () => {
    const plan = planCpuBinding(flat(7), 3, 2, 7);
    expect(plan).toEqual({ bound: true, sets: [[0, 1], [2, 3], [4, 5]] });
  });

  it('binds nothing when the threads do not fit the CPUs or the CPU quota, and says why', () => {
    const over = planCpuBinding(flat(2), 3, 1, 2);
    expect(over.bound).toBe(false);
    if (!over.bound) expect(over.reason).toBe('3 worker(s) × 1 thread(s) do not fit in 2 CPU(s)');
    const quota = planCpuBinding(flat(8), 2, 2, 2);
    expect(quota.bound).toBe(false);
    if (!quota.bound) expect(quota.reason).toContain('the CPU quota of 2');
    expect(planCpuBinding(flat(4), 2, 2, 4).bound).toBe(true);
  });

  it('works with a sparse affinity mask (a container cpuset)', () => {
    const cpus = [3, 5, 9, 12].map((id) => ({ id, socket: 0, core: id }));
    expect(planCpuBinding(cpus, 2, 1, 4)).toEqual({ bound: true, sets: [[3, 5], [9, 12]] });
  });
});

describe('where the CPUs and taskset are found', () => {
  it('reads the allowed CPUs with their socket and core from /proc and /sys', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-cpus-'));
    try {
      writeFileSync(path.join(dir, 'status'), 'Name:\tnode\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,3\n');
      for (const [id, core] of [[0, 0], [1, 1], [3, 0]] as const) {
        mkdirSync(path.join(dir, 'sys', `cpu${id}`, 'topology'), { recursive: true });
        writeFileSync(path.join(dir, 'sys', `cpu${id}`, 'topology', 'core_id'), `${core}\n`);
        writeFileSync(path.join(dir, 'sys', `cpu${id}`, 'topology', 'physical_package_id'), '0\n');
      }
      expect(readAllowedCpus(path.join(dir, 'status'), path.join(dir, 'sys'))).toEqual([
        { id: 0, socket: 0, core: 0 },
        { id: 1, socket: 0, core: 1 },
        { id: 3, socket: 0, core: 0 },
      ]);
      // No topology files: every CPU its own core.
      rmSync(path.join(dir, 'sys'), { recursive: true });
      expect(readAllowedCpus(path.join(dir, 'status'), path.join(dir, 'sys'))).toEqual([0, 1, 3].map((id) => ({ id, socket: 0, core: id })));
      writeFileSync(path.join(dir, 'status'), 'Name:\tnode\n');
      expect(readAllowedCpus(path.join(dir, 'status'))).toBeUndefined();
      expect(readAllowedCpus(path.join(dir, 'absent'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds an executable taskset on PATH, and nothing else by that name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-path-'));
    try {
      mkdirSync(path.join(dir, 'a'));
      mkdirSync(path.join(dir, 'b'));
      writeFileSync(path.join(dir, 'a', 'taskset'), '');
      chmodSync(path.join(dir, 'a', 'taskset'), 0o644);
      expect(findTaskset(path.join(dir, 'a'))).toBeUndefined();
      writeFileSync(path.join(dir, 'b', 'taskset'), '#!/bin/sh\n');
      chmodSync(path.join(dir, 'b', 'taskset'), 0o755);
      expect(findTaskset([path.join(dir, 'a'), path.join(dir, 'b')].join(path.delimiter))).toBe(path.join(dir, 'b', 'taskset'));
      expect(findTaskset('')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts the command through taskset with the CPU list in front', () => {
    expect(boundCommand('/usr/bin/taskset', [0, 1, 4], '/usr/bin/node', ['cli.js', 'worker'])).toEqual({ command: '/usr/bin/taskset', args: ['--cpu-list', '0-1,4', '/usr/bin/node', 'cli.js', 'worker'] });
  });
});
