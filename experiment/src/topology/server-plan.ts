import { clusterBlock, type RouteCredentials } from '@gradmesh/transport';
import type { Topology } from '../scaling-results.js';

/** One nats-server of an experiment: where it listens for clients, for routes and (optionally) for monitoring. */
export interface ServerEndpoint {
  /** The host it runs on (`nats` for the hub, the worker host's name for per-host). */
  readonly host: string;
  readonly address: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  /** The HTTP monitoring port (/varz, /routez), or undefined for none. */
  readonly monitorPort?: number;
}

export function clientUrl(s: ServerEndpoint): string {
  return `nats://${s.address}:${s.clientPort}`;
}

/**
 * A nats-server config: its listen addresses, the client `authorization` block it is given (the same block on
 * every server of a cluster, so any client may connect to any server), and with more than one server the
 * cluster lines (transport's clusterBlock: a full mesh of authenticated routes).
 */
export function serverConfig(self: ServerEndpoint, all: readonly ServerEndpoint[], authorization: string, route: RouteCredentials): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`listen: ${q(`${self.address}:${self.clientPort}`)}`];
  if (self.monitorPort !== undefined) lines.push(`http: ${q(`${self.address}:${self.monitorPort}`)}`);
  const cluster =
    all.length > 1
      ? clusterBlock({ serverName: self.host, listen: `${self.address}:${self.clusterPort}`, peers: all.filter((s) => s !== self).map((p) => `${p.address}:${p.clusterPort}`) }, route, 'gradmesh-experiment')
      : `server_name: ${q(self.host)}\n`;
  return `${lines.join('\n')}\n${cluster}${authorization}`;
}

/**
 * Which server each worker connects to: the hub for everyone, or per-host the server on the worker's own
 * host (`servers[i]` runs on worker i's host). The coordinator connects to `servers[0]`.
 */
export function serverForWorker(topology: Topology, workerIndex: number, servers: readonly ServerEndpoint[]): ServerEndpoint {
  return topology === 'hub' ? servers[0]! : servers[workerIndex]!;
}

/** How many servers a topology runs for N workers. */
export function serverCount(topology: Topology, workers: number): number {
  return topology === 'hub' ? 1 : workers;
}
