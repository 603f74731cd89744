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

/** The cluster's route identity: routes between the servers authenticate with it (Note [routes are authenticated]). */
export interface RouteCredentials {
  readonly user: string;
  readonly password: string;
}

export function clientUrl(s: ServerEndpoint): string {
  return `nats://${s.address}:${s.clientPort}`;
}

/**
 * A nats-server config: its listen addresses, the client `authorization` block it is given (the same block on
 * every server of a cluster, so any client may connect to any server), and with more than one server a
 * `cluster` block whose routes name every other server (a full mesh, as nats-server 2.9 builds it).
 *
 * Note [routes are authenticated]: on loopback the route port is open to every local user, who could
 * otherwise join the cluster as a server and see every subject. The route user's password is made per run.
 *
 * Every string is JSON-quoted: nats-server's config format takes JSON strings literally.
 */
export function serverConfig(self: ServerEndpoint, all: readonly ServerEndpoint[], authorization: string, route: RouteCredentials): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`server_name: ${q(self.host)}`, `listen: ${q(`${self.address}:${self.clientPort}`)}`];
  if (self.monitorPort !== undefined) lines.push(`http: ${q(`${self.address}:${self.monitorPort}`)}`);
  const peers = all.filter((s) => s !== self);
  if (all.length > 1) {
    const routes = peers.map((p) => q(`nats-route://${encodeURIComponent(route.user)}:${encodeURIComponent(route.password)}@${p.address}:${p.clusterPort}`));
    lines.push(
      'cluster {',
      `  name: "gradmesh-experiment"`,
      `  listen: ${q(`${self.address}:${self.clusterPort}`)}`,
      `  authorization { user: ${q(route.user)}, password: ${q(route.password)} }`,
      `  routes: [${routes.join(', ')}]`,
      '}',
    );
  }
  return `${lines.join('\n')}\n${authorization}`;
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
