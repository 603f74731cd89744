import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClusterError } from '@gradmesh/shared/internal';
import { installDirectWrites } from './nats-client-patches/direct-writes.js';
import { installReceivedPayloads } from './nats-client-patches/received-payloads.js';

/**
 * Connects to the run's NATS server. Reconnection is off on purpose: core NATS drops the messages in flight
 * across a reconnect, so a step that spans one cannot complete correctly anyway, and a lost connection
 * fails the run (which `--resume` then continues) rather than limping on. The connection gets the NATS-client
 * patches of `nats-client-patches/` (each checks itself first and steps aside if the client's internals differ).
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, name, reconnect: false, timeout: 10_000, pingInterval: 5_000, maxPingOut: 3 });
  } catch (cause) {
    throw new ClusterError(`cannot connect to NATS at ${url}: ${(cause as Error).message}`, {
      worker: name,
      hint: 'check the --nats URL and that nats-server is running (gradmesh launch starts one for you)',
      cause,
    });
  }
  // Before any subscription or publish, so every payload of the run takes the same path.
  installReceivedPayloads(nc);
  installDirectWrites(nc);
  return nc;
}

/** Calls `onLost` once when the connection disconnects or closes (for any reason but our own close()). */
export function watchConnection(nc: NatsConnection, onLost: (why: string) => void): { stop(): void } {
  let stopped = false;
  const iterator = nc.status();
  void (async () => {
    for await (const status of iterator) {
      if (stopped) return;
      if (status.type === 'disconnect') {
        stopped = true;
        onLost(`disconnected from ${status.server}`);
        return;
      }
    }
  })().catch(() => undefined);
  void nc.closed().then((err) => {
    if (stopped) return;
    stopped = true;
    onLost(err ? `connection closed: ${err.message}` : 'connection closed');
  });
  return {
    stop() {
      stopped = true;
      (iterator as { stop?: () => void }).stop?.();
    },
  };
}
