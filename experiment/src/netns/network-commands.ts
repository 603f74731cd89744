import type { LinkSpec } from '../scaling-results.js';
import { tcRate } from './link-spec.js';
import type { NetworkPlan } from './network-plan.js';

/** One `ip`/`tc` invocation: the program and its arguments (never a shell string). */
export type Command = readonly [program: 'ip' | 'tc', ...args: string[]];

/**
 * The commands that build a plan's network, in order: the namespaces, a bridge in its own namespace, one
 * veth pair per host (`eth0` in the host, `v<host>` on the bridge), addresses, and the shaping of every link.
 */
export function setupCommands(plan: NetworkPlan, link: LinkSpec): Command[] {
  const b = plan.bridgeNamespace;
  const out: Command[] = [
    ['ip', 'netns', 'add', b],
    ['ip', '-n', b, 'link', 'add', plan.bridge, 'type', 'bridge'],
    ['ip', '-n', b, 'link', 'set', plan.bridge, 'up'],
    ['ip', '-n', b, 'link', 'set', 'lo', 'up'],
  ];
  for (const h of plan.hosts) {
    out.push(
      ['ip', 'netns', 'add', h.namespace],
      ['ip', '-n', h.namespace, 'link', 'set', 'lo', 'up'],
      // Created in the bridge namespace with its peer straight in the host's: no interface ever exists in the root namespace.
      ['ip', '-n', b, 'link', 'add', h.bridgePort, 'type', 'veth', 'peer', 'name', h.hostInterface, 'netns', h.namespace],
      ['ip', '-n', b, 'link', 'set', h.bridgePort, 'master', plan.bridge],
      ['ip', '-n', b, 'link', 'set', h.bridgePort, 'up'],
      ['ip', '-n', h.namespace, 'addr', 'add', `${h.address}/16`, 'dev', h.hostInterface],
      ['ip', '-n', h.namespace, 'link', 'set', h.hostInterface, 'up'],
    );
    if (link.rateBitsPerSec !== null) {
      out.push(shapeCommand(h.namespace, h.hostInterface, link.rateBitsPerSec), shapeCommand(b, h.bridgePort, link.rateBitsPerSec));
    }
  }
  return out;
}

/**
 * Note [shaping a host link both ways]: tc shapes what leaves an interface. The host's `eth0` egress is what
 * the host sends; the bridge port's egress is what the host receives. Shaping both gives each host a
 * full-duplex link of the given rate, like a NIC on a switch.
 *
 * Note [tbf burst]: the bucket must hold at least one whole packet as the veth hands it over, and veth passes
 * GSO super-packets of up to 64 KiB; a smaller bucket drops them. So the burst is the larger of 1 ms at the
 * rate and 128 KiB, and the queue holds 50 ms at the rate (the `latency` limit) before tbf drops.
 */
export function shapeCommand(namespace: string, device: string, bitsPerSec: number): Command {
  return ['tc', '-n', namespace, 'qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', tcRate(bitsPerSec), 'burst', String(tbfBurstBytes(bitsPerSec)), 'latency', '50ms'];
}

export function tbfBurstBytes(bitsPerSec: number): number {
  return Math.max(128 * 1024, Math.ceil(bitsPerSec / 8 / 1000));
}

/** Deleting a namespace deletes its veth ends; the bridge's namespace goes last. */
export function teardownCommands(plan: NetworkPlan): Command[] {
  return [...plan.hosts.map((h): Command => ['ip', 'netns', 'del', h.namespace]), ['ip', 'netns', 'del', plan.bridgeNamespace]];
}

/** The root namespace's guard route: a connect to the emulated range fails here instead of leaving the machine. */
export function guardRouteCommand(action: 'add' | 'del', range: string): Command {
  return ['ip', 'route', action, 'unreachable', range];
}

/** Runs `argv` inside a host's namespace. */
export function inNamespace(namespace: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', namespace, ...argv];
}
