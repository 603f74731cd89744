import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gradmesh/shared';
import { describeLink, parseLink, parseRate, tcRate } from '@gradmesh/experiment';

describe('--link <rate>[,<delay>]', () => {
  it('reads tc rate units as decimal bits per second, as tc does', () => {
    expect(parseRate('1gbit')).toBe(1e9);
    expect(parseRate('100mbit')).toBe(1e8);
    expect(parseRate('1.5gbit')).toBe(1.5e9);
    expect(parseRate('250kbit')).toBe(250_000);
    expect(parseRate('unshaped')).toBeNull();
  });

  it('takes an optional one-way delay in s, ms or us (recorded, never emulated)', () => {
    expect(parseLink('1gbit')).toEqual({ rateBitsPerSec: 1e9, delaySeconds: 0 });
    expect(parseLink('100mbit,2ms')).toEqual({ rateBitsPerSec: 1e8, delaySeconds: 0.002 });
    expect(parseLink('10gbit,50us').delaySeconds).toBeCloseTo(5e-5, 12);
  });

  it('refuses a rate without a unit, an unknown unit, a rate below 1 kbit, a negative or unitless delay and extra fields', () => {
    for (const bad of ['1000', '1gbps', '1GB', '0.5kbit', '-1gbit', '1gbit,2', '1gbit,-2ms', '1gbit,2ms,3ms', '']) {
      expect(() => parseLink(bad), bad).toThrow(ConfigError);
    }
  });

  it('writes a rate back in the largest unit that keeps it whole, and shows a link as it was given', () => {
    expect(tcRate(1e9)).toBe('1gbit');
    expect(tcRate(1.5e9)).toBe('1500mbit');
    expect(tcRate(1234)).toBe('1234bit');
    expect(describeLink(parseLink('100mbit,2ms'))).toBe('100mbit,2ms');
    expect(describeLink(parseLink('unshaped'))).toBe('unshaped');
  });
});
