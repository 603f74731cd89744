/** The route identity of a NATS cluster: servers authenticate each other's routes with it. */
export interface RouteCredentials {
  readonly user: string;
  readonly password: string;
}

/** One server's place in a cluster: its own route listener and the route listeners of every other server. */
export interface ClusterMember {
  readonly serverName: string;
  /** host:port this server accepts routes on. */
  readonly listen: string;
  /** host:port of every other server's route listener. */
  readonly peers: readonly string[];
}

/**
 * The nats-server 2.9 lines that make a server a member of a cluster: a unique `server_name` and a `cluster`
 * block whose routes name every other server (a full mesh) and authenticate with the route user.
 *
 * Note [routes are authenticated]: a route port on 127.0.0.1 is open to every local user, who could otherwise
 * join the cluster as a server and see every subject of every run. The route user is made per cluster.
 *
 * Strings are JSON-quoted: nats-server's config format takes JSON strings literally.
 */
export function clusterBlock(member: ClusterMember, route: RouteCredentials, clusterName = 'gradmesh'): string {
  const q = (s: string) => JSON.stringify(s);
  const routes = member.peers.map((p) => q(`nats-route://${encodeURIComponent(route.user)}:${encodeURIComponent(route.password)}@${p}`));
  return [
    `server_name: ${q(member.serverName)}`,
    'cluster {',
    `  name: ${q(clusterName)}`,
    `  listen: ${q(member.listen)}`,
    `  authorization { user: ${q(route.user)}, password: ${q(route.password)} }`,
    `  routes: [${routes.join(', ')}]`,
    '}',
    '',
  ].join('\n');
}
