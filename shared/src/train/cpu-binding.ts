import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Note [workers bound to cores]
 * `launch --workers N` runs N symmetric processes in lock-step on one machine: a step ends when the slower rank's
 * gradients are in. Left to the scheduler, each worker's pool thread and main thread (the all-reduce) wander over
 * all the cores and take turns with the other worker's threads, so the same compute takes a different time on
 * each rank every step, and every step waits for the unluckier one. 2026-12-02, CNN, 2 workers × 1 thread on 2
 * cores: the two ranks' compute times differed by 2.9 ms at the median (of a 17 ms step), and binding worker k to
 * core k made launch 7 % faster in 7 of 8 alternating pairs (README, "Workers bound to cores"). Bound, a worker's
 * main thread shares its own core(s) with its own pool threads, and the ranks stay in step.
 *
 * The plan is what OpenMP's `proc_bind(close)` and mpirun's `--bind-to core` do: the allowed CPUs (the process's
 * affinity mask, which a container's cpuset already narrows) ordered by socket, then core, then hyperthread, and
 * the cores cut into N equal consecutive blocks, so a worker gets whole cores (every allowed hyperthread of each)
 * and no two workers share one. When whole cores cannot give every worker its threads (fewer cores than workers,
 * or hyperthreads that do not divide evenly), the logical CPUs are cut into N equal blocks instead, and a core may
 * then be split between two workers. Only when the workers' threads fit (N × threads ≤ the CPUs, and ≤ the CPU
 * quota): oversubscribed, binding would only take away the scheduler's freedom to fill idle cores. `train` is not
 * bound: its pool threads share one process and one step, and binding them measured no faster (4,536–4,610
 * samples/s unbound against 3,867–4,564 bound, the same hour).
 */

/** A logical CPU this process may run on, and where it sits. */
export interface LogicalCpu {
  readonly id: number;
  /** physical_package_id (socket); 0 when unknown. */
  readonly socket: number;
  /** core_id within the socket; the CPU's own id when unknown (then no two CPUs are taken for hyperthreads). */
  readonly core: number;
}

/** The CPU sets of N workers (sets[k] for worker k), or why they are not bound. */
export type CpuBindingPlan = { readonly bound: true; readonly sets: readonly (readonly number[])[] } | { readonly bound: false; readonly reason: string };

/** A Linux CPU list ("0-3,8,10-11", as in /proc/self/status Cpus_allowed_list) as sorted ids; undefined if malformed. */
export function parseCpuList(text: string): number[] | undefined {
  const ids = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  for (const part of trimmed.split(',')) {
    const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(part.trim());
    if (m === null) return undefined;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) return undefined;
    for (let id = first; id <= last; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Sorted ids as a CPU list: [0, 1, 2, 3, 8] → "0-3,8" (what taskset -c takes). */
export function formatCpuList(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Note [workers bound to cores]: N blocks of whole cores, or why not. `usable` is the CPU quota (availableCpus()). */
export function planCpuBinding(cpus: readonly LogicalCpu[], workers: number, threads: number, usable: number): CpuBindingPlan {
  const capacity = Math.min(cpus.length, Math.floor(usable));
  if (workers < 1 || workers * threads > capacity) {
    return { bound: false, reason: `${workers} worker(s) × ${threads} thread(s) do not fit in ${capacity} CPU(s)${capacity < cpus.length ? ` (the CPU quota of ${usable})` : ''}` };
  }
  const ordered = [...cpus].sort((a, b) => a.socket - b.socket || a.core - b.core || a.id - b.id);
  // Whole cores first: consecutive runs of one (socket, core) in that order.
  const cores: LogicalCpu[][] = [];
  for (const c of ordered) {
    const last = cores[cores.length - 1];
    if (last !== undefined && last[0]!.socket === c.socket && last[0]!.core === c.core) last.push(c);
    else cores.push([c]);
  }
  const perWorker = Math.floor(cores.length / workers);
  const byCores = Array.from({ length: workers }, (_, k) => cores.slice(k * perWorker, (k + 1) * perWorker).flat());
  if (perWorker >= 1 && byCores.every((set) => set.length >= threads)) return { bound: true, sets: byCores.map(ids) };
  const block = Math.floor(ordered.length / workers);
  return { bound: true, sets: Array.from({ length: workers }, (_, k) => ids(ordered.slice(k * block, (k + 1) * block))) };
}

const ids = (cpus: readonly LogicalCpu[]): number[] => cpus.map((c) => c.id).sort((a, b) => a - b);

/** The CPUs this process may run on, with their socket and core (Linux); undefined where that cannot be read. */
export function readAllowedCpus(proc = '/proc/self/status', sys = '/sys/devices/system/cpu'): LogicalCpu[] | undefined {
  let status: string;
  try {
    status = readFileSync(proc, 'utf8');
  } catch {
    return undefined;
  }
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  const ids = line === null ? undefined : parseCpuList(line[1]!);
  if (ids === undefined) return undefined;
  const number = (file: string): number | undefined => {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return ids.map((id) => ({
    id,
    socket: number(`${sys}/cpu${id}/topology/physical_package_id`) ?? 0,
    core: number(`${sys}/cpu${id}/topology/core_id`) ?? id,
  }));
}

/** util-linux's taskset on PATH (it sets the affinity, then execs the command: same pid, every thread bound). */
export function findTaskset(searchPath = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, 'taskset');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How to start `command args` bound to `cpus`: through taskset, which execs it (so its pid is the child's). */
export function boundCommand(taskset: string, cpus: readonly number[], command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: taskset, args: ['--cpu-list', formatCpuList(cpus), command, ...args] };
}

/**
 * The plan for N workers of `threads` each on this machine (Note [workers bound to cores]), with the taskset that
 * applies it; `bound: false` says why not (not Linux, no taskset, or the threads do not fit).
 */
export function machineCpuBinding(workers: number, threads: number, usable: number): CpuBindingPlan & { readonly taskset?: string } {
  const cpus = readAllowedCpus();
  if (cpus === undefined) return { bound: false, reason: 'the allowed CPUs cannot be read here (/proc/self/status)' };
  const taskset = findTaskset();
  if (taskset === undefined) return { bound: false, reason: 'taskset (util-linux) is not on PATH' };
  const plan = planCpuBinding(cpus, workers, threads, usable);
  return plan.bound ? { ...plan, taskset } : plan;
}
