import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of a process and all its descendants, by role, read from Linux's /proc (user + system time of every
 * thread, in clock ticks of 10 ms). `bench cluster` takes one reading when the warm-up ends and one when the
 * measured steps end, so the difference ÷ steps is what each kind of process costs per step — how `launch`'s
 * extra time divides between the workers, nats-server and the coordinator.
 *
 * A reading is a point-in-time walk of /proc: a process that starts between two readings is counted from 0, one
 * that exits between them is missing from the second (its time is lost, never double-counted); in the steady
 * state of a run neither happens.
 */
export type CpuByRole = Record<string, number>;

/** Clock ticks per second of /proc's utime/stime (USER_HZ: 100 on every Linux since 2.6). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly cpuSeconds: number;
}

/** Whether /proc can be read here (Linux); elsewhere `bench cluster` leaves the CPU figures out. */
export function processCpuAvailable(): boolean {
  try {
    readFileSync('/proc/self/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU seconds used so far by `root` and its descendants, summed per role (`roleOf` its command line; undefined: left
 * out). `threads: 'main'` counts only each process's main thread (its event loop: for a worker the all-reduce, the
 * update and the control messages; the pool's compute threads and V8's helpers are left out).
 */
export function processTreeCpu(root: number, roleOf: (commandLine: string) => string | undefined, threads: 'all' | 'main' = 'all'): CpuByRole {
  const all = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== undefined) all.set(stat.pid, stat);
  }
  const children = new Map<number, number[]>();
  for (const s of all.values()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const totals: CpuByRole = {};
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const stat = all.get(pid);
    if (stat === undefined) continue;
    const role = roleOf(commandLine(pid));
    if (role !== undefined) totals[role] = (totals[role] ?? 0) + (threads === 'all' ? stat.cpuSeconds : (readStat(pid, pid)?.cpuSeconds ?? 0));
    pending.push(...(children.get(pid) ?? []));
  }
  return totals;
}

/** after − before, per role (roles missing before count from 0). */
export function cpuBetween(before: CpuByRole, after: CpuByRole): CpuByRole {
  const delta: CpuByRole = {};
  for (const [role, seconds] of Object.entries(after)) delta[role] = seconds - (before[role] ?? 0);
  return delta;
}

/** The process's stat (utime and stime summed over its threads), or with `tid` that one thread's. */
function readStat(pid: number, tid?: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined; // exited while we walked
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the LAST ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from 3 on: state ppid … utime (14) stime (15) — here indices 0-based from field 3.
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ppid) && Number.isFinite(ticks) ? { pid, ppid, cpuSeconds: ticks / TICKS_PER_SECOND } : undefined;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
