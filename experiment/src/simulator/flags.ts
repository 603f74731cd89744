import { ConfigError } from '@gradmesh/shared/internal';
import type { LinkSpec, Topology } from '../scaling-results.js';

/** Parsers for the simulator's command-line values; each throws ConfigError naming the flag and the value. */

const MAX_WORKERS = 65_536;

/**
 * `--workers`: a comma-separated list of counts and doubling ranges: `2,3,4`, `1..256` (1, 2, 4, …, 256: a range
 * doubles from its start and always ends on its end), `1,3,8..64`. Sorted, without duplicates.
 */
export function parseWorkers(value: string, flag = '--workers'): number[] {
  const out = new Set<number>();
  for (const item of value.split(',')) {
    const m = /^([0-9]+)(?:\.\.([0-9]+))?$/.exec(item.trim());
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to > MAX_WORKERS || from > to) {
      throw new ConfigError(flag, `"${item}" is not a worker count or range A..B with 1 ≤ A ≤ B ≤ ${MAX_WORKERS}`, { value, hint: 'e.g. --workers 1..256 or --workers 2,3,4' });
    }
    for (let n = from; n < to; n *= 2) out.add(n);
    out.add(to);
  }
  return [...out].sort((a, b) => a - b);
}

export function parseTopologies(value: string, flag = '--topology'): Topology[] {
  const items = [...new Set(value.split(',').map((s) => s.trim()))];
  for (const t of items) if (t !== 'hub' && t !== 'per-host') throw new ConfigError(flag, `"${t}" is not a topology (hub or per-host)`, { value });
  return items as Topology[];
}

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };
const DELAY_UNITS: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1 };

/**
 * `--link`: rates (tc's notation: `100mbit`, `1gbit`, `unshaped`) and at most one one-way delay (`2ms`, `500us`)
 * that applies to every rate: `1gbit,10gbit,1ms`.
 */
export function parseLinks(value: string, flag = '--link'): LinkSpec[] {
  const rates: (number | null)[] = [];
  let delay: number | undefined;
  for (const raw of value.split(',')) {
    const item = raw.trim().toLowerCase();
    const rate = /^([0-9]+(?:\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit)$/.exec(item);
    const wait = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s)$/.exec(item);
    if (item === 'unshaped') rates.push(null);
    else if (rate) {
      const bits = Number(rate[1]) * (RATE_UNITS[rate[2] as string] as number);
      if (!(bits > 0) || !Number.isFinite(bits)) throw new ConfigError(flag, `rate "${raw}" must be positive`, { value });
      rates.push(bits);
    } else if (wait) {
      if (delay !== undefined) throw new ConfigError(flag, 'takes at most one delay', { value, hint: 'e.g. --link 1gbit,10gbit,1ms' });
      delay = Number(wait[1]) * (DELAY_UNITS[wait[2] as string] as number);
      if (delay > 10) throw new ConfigError(flag, `delay "${raw}" is over 10 s`, { value });
    } else {
      throw new ConfigError(flag, `"${raw}" is neither a rate (100mbit, 1gbit, unshaped) nor a delay (500us, 2ms)`, { value, hint: 'e.g. --link 1gbit,10gbit or --link 1gbit,1ms' });
    }
  }
  if (rates.length === 0) throw new ConfigError(flag, 'needs at least one rate', { value, hint: 'e.g. --link 1gbit,10gbit' });
  return [...new Set(rates)].map((rateBitsPerSec) => ({ rateBitsPerSec, delaySeconds: delay ?? 0 }));
}

/** A number in [min, max]. */
export function parseNumberIn(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n >= min && n <= max)) throw new ConfigError(flag, `must be a number in [${min}, ${max}]`, { value });
  return n;
}
