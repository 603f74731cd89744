import { ConfigError } from '@gradmesh/shared';
import type { Topology } from '../scaling-results.js';

/** The private range every emulated host's address is in; the root namespace routes it to `unreachable`. */
export const EMULATED_RANGE = '10.77.0.0/16';
/** Hosts get 10.77.0.<index + 1>: room for 250 hosts on the one bridge. */
const MAX_HOSTS = 250;

/** One emulated host: a network namespace with one interface (`eth0`) on the bridge. */
export interface HostPlan {
  /** The host's name in results (`w0`, `w1`, …, `nats`). */
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** The interface inside the host's namespace. */
  readonly hostInterface: 'eth0';
  /** The other end of the veth pair, a port of the bridge in the bridge namespace. */
  readonly bridgePort: string;
  /** Worker ids this host runs (one per worker host, none on a server-only host). */
  readonly workerIds: readonly string[];
  /** This host runs a nats-server. */
  readonly runsServer: boolean;
  /** This host runs the coordinator. */
  readonly runsCoordinator: boolean;
}

export interface NetworkPlan {
  /** Every namespace of this plan starts with it, so that a leftover one is recognised (and whose it was). */
  readonly prefix: string;
  readonly bridgeNamespace: string;
  readonly bridge: 'br0';
  readonly range: string;
  readonly hosts: readonly HostPlan[];
}

/** Worker ids `w0`, `w1`, … padded to one width, as `gradmesh launch` names them (they sort in rank order). */
export function workerIds(workers: number): string[] {
  const width = String(workers - 1).length;
  return Array.from({ length: workers }, (_, i) => `w${String(i).padStart(width, '0')}`);
}

/** `gmx<tag>-`: the namespace prefix of one runner process (tag: its pid in base 36). */
export function namespacePrefix(pid: number): string {
  return `gmx${pid.toString(36)}-`;
}

/** The pid a namespace name's prefix stands for, or undefined when the name is not one of ours. */
export function ownerPid(namespace: string): number | undefined {
  const m = /^gmx([0-9a-z]+)-/.exec(namespace);
  return m ? parseInt(m[1]!, 36) : undefined;
}

/**
 * The emulated hosts of one run. Every worker has a host of its own. `hub`: one more host runs the only
 * nats-server and the coordinator, so every all-reduce byte crosses that host's link. `per-host`: each worker
 * host also runs a nats-server (the servers form a cluster over their links) and w0's host runs the
 * coordinator, whose few control messages share w0's link.
 */
export function planNetwork(prefix: string, workers: number, topology: Topology): NetworkPlan {
  if (!Number.isInteger(workers) || workers < 1) throw new ConfigError('--workers', 'must be a positive integer', { value: workers });
  const hostCount = workers + (topology === 'hub' ? 1 : 0);
  if (hostCount > MAX_HOSTS) throw new ConfigError('--workers', `needs ${hostCount} emulated hosts; at most ${MAX_HOSTS} fit the address plan`, { value: workers });
  const ids = workerIds(workers);
  const host = (index: number, name: string, workerIdsOnHost: string[], runsServer: boolean, runsCoordinator: boolean): HostPlan => ({
    name,
    namespace: `${prefix}${name}`,
    address: `10.77.0.${index + 1}`,
    hostInterface: 'eth0',
    bridgePort: `v${name}`,
    workerIds: workerIdsOnHost,
    runsServer,
    runsCoordinator,
  });
  const hosts = ids.map((id, i) => host(i, id, [id], topology === 'per-host', topology === 'per-host' && i === 0));
  if (topology === 'hub') hosts.push(host(workers, 'nats', [], true, true));
  return { prefix, bridgeNamespace: `${prefix}bridge`, bridge: 'br0', range: EMULATED_RANGE, hosts };
}
