import { describe, expect, it } from 'vitest';
import { guardRouteCommand, namespacePrefix, ownerPid, planNetwork, setupCommands, shapeCommand, tbfBurstBytes, teardownCommands, workerIds } from '@gradmesh/experiment';

describe('the emulated hosts of a run (a pure plan)', () => {
  it('hub: one host per worker plus a server host that also runs the coordinator; addresses are distinct and in 10.77.0.0/16', () => {
    const plan = planNetwork('gmxab-', 3, 'hub');
    expect(plan.hosts.map((h) => h.name)).toEqual(['w0', 'w1', 'w2', 'nats']);
    expect(plan.hosts.map((h) => h.address)).toEqual(['10.77.0.1', '10.77.0.2', '10.77.0.3', '10.77.0.4']);
    expect(plan.hosts.filter((h) => h.runsServer).map((h) => h.name)).toEqual(['nats']);
    expect(plan.hosts.filter((h) => h.runsCoordinator).map((h) => h.name)).toEqual(['nats']);
    expect(plan.hosts.flatMap((h) => h.workerIds)).toEqual(['w0', 'w1', 'w2']);
    expect(plan.range).toBe('10.77.0.0/16');
  });

  it('per-host: a server on every worker host, the coordinator on w0’s', () => {
    const plan = planNetwork('gmxab-', 2, 'per-host');
    expect(plan.hosts.map((h) => [h.name, h.runsServer, h.runsCoordinator])).toEqual([['w0', true, true], ['w1', true, false]]);
  });

  it('names every namespace with the runner’s prefix, whose pid can be read back; interface names fit Linux’s 15 characters', () => {
    const prefix = namespacePrefix(4_194_304);
    const plan = planNetwork(prefix, 12, 'hub');
    for (const ns of [plan.bridgeNamespace, ...plan.hosts.map((h) => h.namespace)]) expect(ownerPid(ns)).toBe(4_194_304);
    for (const h of plan.hosts) expect(h.bridgePort.length).toBeLessThanOrEqual(15);
    expect(ownerPid('netns-f4a5bca0')).toBeUndefined();
    expect(workerIds(12).slice(0, 2)).toEqual(['w00', 'w01']);
  });

  it('refuses more hosts than the addressing holds', () => {
    expect(() => planNetwork('gmxab-', 250, 'hub')).toThrow(/at most 250/);
    expect(planNetwork('gmxab-', 249, 'hub').hosts.at(-1)!.address).toBe('10.77.0.250');
  });
});

describe('the ip and tc command lines', () => {
  const plan = planNetwork('gmxab-', 2, 'hub');

  it('shape every host link both ways (the host’s eth0 and its bridge port) with tbf at the given rate', () => {
    const cmds = setupCommands(plan, { rateBitsPerSec: 1e9, delaySeconds: 0 });
    const shaping = cmds.filter((c) => c[0] === 'tc');
    expect(shaping).toHaveLength(2 * plan.hosts.length);
    expect(shaping).toContainEqual(['tc', '-n', 'gmxab-w0', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', '1gbit', 'burst', '131072', 'latency', '50ms']);
    expect(shaping).toContainEqual(['tc', '-n', 'gmxab-bridge', 'qdisc', 'replace', 'dev', 'vnats', 'root', 'tbf', 'rate', '1gbit', 'burst', '131072', 'latency', '50ms']);
  });

  it('an unshaped link gets no qdisc; no interface is ever created in the root namespace', () => {
    const cmds = setupCommands(plan, { rateBitsPerSec: null, delaySeconds: 0 });
    expect(cmds.some((c) => c[0] === 'tc')).toBe(false);
    for (const c of cmds.filter((c) => c.includes('link') && c.includes('add'))) expect(c[1]).toBe('-n');
    expect(cmds[0]).toEqual(['ip', 'netns', 'add', 'gmxab-bridge']);
  });

  it('tbf’s bucket holds a 64 KiB GSO packet and at least 1 ms at the rate', () => {
    expect(tbfBurstBytes(1e8)).toBe(131_072);
    expect(tbfBurstBytes(1e10)).toBe(1_250_000);
    expect(shapeCommand('ns', 'eth0', 1e10)).toContain('10gbit');
  });

  it('teardown deletes every host namespace, then the bridge’s; the guard route is an unreachable route', () => {
    expect(teardownCommands(plan)).toEqual([['ip', 'netns', 'del', 'gmxab-w0'], ['ip', 'netns', 'del', 'gmxab-w1'], ['ip', 'netns', 'del', 'gmxab-nats'], ['ip', 'netns', 'del', 'gmxab-bridge']]);
    expect(guardRouteCommand('add', '10.77.0.0/16')).toEqual(['ip', 'route', 'add', 'unreachable', '10.77.0.0/16']);
  });
});
