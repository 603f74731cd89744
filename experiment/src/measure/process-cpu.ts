import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat's times; 100 on every Linux architecture Node.js runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used, from /proc/<pid>/stat, or undefined once it is gone.
 * Fields after the command name (which may contain spaces and parentheses, hence the last ')'): utime is the
 * 14th field and stime the 15th.
 */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return cpuSecondsOfStat(stat);
}

export function cpuSecondsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is the 3rd field (state): utime = 14th → index 11, stime = 15th → index 12.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
