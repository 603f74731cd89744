import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { helpText, inTermsOfTheSource, parseCommandArgs } from '../../../cli/src/args.js';
import { parseDataListenFlags } from '../../../cli/src/data-listen-flags.js';
import { workerCommand } from '../../../cli/src/worker-command.js';

/** `gradmesh worker --data-host/--data-port` (GRADMESH_DATA_HOST/PORT): where the link listener binds. */
describe('the worker\'s link listener flags', () => {
  it('default to any free port on the NATS connection\'s local address (no host)', () => {
    expect(parseDataListenFlags({})).toEqual({ port: 0 });
  });

  it('take a port 0–65535 and an IPv4, IPv6 (bare or bracketed) or DNS host', () => {
    expect(parseDataListenFlags({ 'data-port': '29500' })).toEqual({ port: 29500 });
    expect(parseDataListenFlags({ 'data-port': '0', 'data-host': '10.0.3.7' })).toEqual({ host: '10.0.3.7', port: 0 });
    expect(parseDataListenFlags({ 'data-host': 'fd00::7' })).toEqual({ host: 'fd00::7', port: 0 });
    expect(parseDataListenFlags({ 'data-host': '[fd00::7]', 'data-port': '65535' })).toEqual({ host: 'fd00::7', port: 65535 });
    expect(parseDataListenFlags({ 'data-host': 'w-1.gradmesh-worker' })).toEqual({ host: 'w-1.gradmesh-worker', port: 0 });
  });

  it('refuse a bad value in one line naming the flag and the value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'data-port': '65536' }, /^--data-port: must be a port in \[0, 65535\].*\(got "65536"\)/],
      [{ 'data-port': '29500.5' }, /^--data-port: .*\(got "29500\.5"\)/],
      [{ 'data-port': '' }, /^--data-port: .*\(got ""\)/],
      [{ 'data-host': '10.0.3.256' }, /^--data-host: is not a valid IPv4 address.*\(got "10\.0\.3\.256"\)/],
      [{ 'data-host': 'a_b' }, /^--data-host: is neither an IP address nor a DNS name.*\(got "a_b"\)/],
      [{ 'data-host': '10.0.3.7:29500' }, /^--data-host: is not a valid IPv6 address.*\(got "10\.0\.3\.7:29500"\)/],
    ];
    for (const [values, message] of cases) {
      let error: unknown;
      try {
        parseDataListenFlags(values);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(values)).toBeInstanceOf(ConfigError);
      expect((error as Error).message, JSON.stringify(values)).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('come from GRADMESH_DATA_HOST / GRADMESH_DATA_PORT, and an error about one names the variable', () => {
    const parsed = parseCommandArgs(workerCommand, ['--nats', 'nats://n:4222'], { GRADMESH_DATA_HOST: '10.0.3.7', GRADMESH_DATA_PORT: '29500' });
    expect(parseDataListenFlags(parsed.values)).toEqual({ host: '10.0.3.7', port: 29500 });
    const bad = parseCommandArgs(workerCommand, [], { GRADMESH_DATA_PORT: 'x' });
    let error: unknown;
    try {
      parseDataListenFlags(bad.values);
    } catch (e) {
      error = inTermsOfTheSource(e, workerCommand, bad.fromEnv);
    }
    expect((error as Error).message).toMatch(/^GRADMESH_DATA_PORT: must be a port/);
  });

  it('are in the worker\'s --help', () => {
    const help = helpText(workerCommand);
    expect(help).toMatch(/^\s+--data-host <host>\s+\S/m);
    expect(help).toMatch(/^\s+--data-port <port>\s+\S/m);
  });
});
