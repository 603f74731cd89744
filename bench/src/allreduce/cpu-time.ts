import { readFileSync } from 'node:fs';

/**
 * User + system CPU time of another process in ms, from /proc/<pid>/stat (Linux; clock ticks of 10 ms), or
 * undefined where that cannot be read. The benchmark uses it for nats-server, which it cannot ask over IPC.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces); utime and stime are fields 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU ms this process used since `start` (a `process.cpuUsage()` reading). */
export function ownCpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}
