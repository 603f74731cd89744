import { ConfigError } from '@gradmesh/shared';
import type { LinkSpec } from '../scaling-results.js';

/** tc's rate units (bits per second, decimal prefixes: `tc` reads `1gbit` as 10^9 bit/s). */
const RATE_UNITS: Readonly<Record<string, number>> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };
const DELAY_UNITS: Readonly<Record<string, number>> = { s: 1, ms: 1e-3, us: 1e-6 };

/**
 * `--link <rate>[,<delay>]`, e.g. `1gbit`, `100mbit,2ms`, `unshaped`: the rate each host link is shaped to and
 * a one-way delay.
 *
 * Note [delay is a simulator parameter]: this kernel has no netem, so no delay can be added to a link. A
 * delay given here is recorded in results.json (LinkSpec.delaySeconds) for the simulator to use and is never
 * emulated; the runner says so on the terminal. Measured runs carry the delay the links really had: 0 unless
 * the user states otherwise.
 */
export function parseLink(text: string, flag = '--link'): LinkSpec {
  const [rateText, delayText, ...rest] = text.split(',');
  if (rateText === undefined || rest.length > 0) throw new ConfigError(flag, 'must be <rate>[,<delay>]', { value: text, hint: 'e.g. 1gbit, 100mbit,2ms or unshaped' });
  return { rateBitsPerSec: parseRate(rateText.trim(), flag), delaySeconds: delayText === undefined ? 0 : parseDelay(delayText.trim(), flag) };
}

/** A tc rate (`1gbit`, `250mbit`, `1.5gbit`); `unshaped` (or `none`) is null: the link is not rate-limited. */
export function parseRate(text: string, flag = '--link'): number | null {
  if (text === 'unshaped' || text === 'none') return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit)$/i.exec(text);
  const value = m ? Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!m || !(value >= 1e3) || value > 1e12) throw new ConfigError(flag, 'rate must be a number with a unit bit|kbit|mbit|gbit|tbit between 1kbit and 1tbit, or unshaped', { value: text, hint: 'e.g. 1gbit or 100mbit' });
  return Math.round(value);
}

export function parseDelay(text: string, flag = '--link'): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(s|ms|us)$/.exec(text);
  const value = m ? Number(m[1]) * DELAY_UNITS[m[2]!]! : NaN;
  if (!m || !(value >= 0) || value > 10) throw new ConfigError(flag, 'delay must be a number with a unit s|ms|us, at most 10 s', { value: text, hint: 'e.g. 1gbit,2ms' });
  return value;
}

/** The rate as tc writes it (`1gbit`, `100mbit`, `1500kbit`): the largest unit that keeps it an integer. */
export function tcRate(bitsPerSec: number): string {
  for (const [unit, scale] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) if (bitsPerSec % scale === 0) return `${bitsPerSec / scale}${unit}`;
  return `${bitsPerSec}bit`;
}

/** `1gbit`, `100mbit,2ms` or `unshaped`: how a link is shown in tables and on the terminal. */
export function describeLink(link: LinkSpec): string {
  const rate = link.rateBitsPerSec === null ? 'unshaped' : tcRate(link.rateBitsPerSec);
  return link.delaySeconds > 0 ? `${rate},${+(link.delaySeconds * 1e3).toFixed(3)}ms` : rate;
}
