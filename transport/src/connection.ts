import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AuthorizationError } from '@nats-io/nats-core';
import { ClusterError, ConfigError } from '@gradmesh/shared/internal';
import { natsConnectOptions, redactUrl, type NatsCredentials } from './credentials.js';
import { installDirectWrites } from './nats-client-patches/direct-writes.js';
import { installReceivedPayloads } from './nats-client-patches/received-payloads.js';
import { installSocketReads } from './nats-client-patches/socket-reads.js';

/**
 * Connects to the run's NATS server. The client reconnects after a server restart or a network blip
 * (subscriptions are restored); messages in flight across the gap are lost, which the run tolerates: the
 * coordinator ends the generation on a reconnect and the command in flight is carried out again
 * (watchConnection's `onReconnect`). The connection gets the NATS-client patches of `nats-client-patches/`
 * (each checks itself first and steps aside if the client's internals differ). `credentials` is the process's
 * identity (credentials.ts); every connection a process opens passes the same one.
 */
export async function connectNats(url: string, name: string, credentials?: NatsCredentials): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, name, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 10_000, pingInterval: 2_000, maxPingOut: 3, ...natsConnectOptions(credentials) });
  } catch (cause) {
    // A refused identity is the user's input to fix (exit 2). The server's message names no secret.
    if (cause instanceof AuthorizationError || /authorization violation|authentication/i.test((cause as Error).message)) {
      throw new ConfigError('NATS credentials', `the server at ${redactUrl(url)} refused them (${(cause as Error).message})`, {
        hint: 'check --nats-creds, --nats-user/--nats-pass or --nats-token (or their GRADMESH_NATS_* variables) and the run they were made for',
      });
    }
    // A server certificate this client does not trust is the user's input to fix too (exit 2).
    if (untrustedCertificate(cause)) {
      throw new ConfigError('NATS TLS', `the server at ${redactUrl(url)} presented a certificate this client does not trust (${(cause as Error).message})`, {
        hint: 'give the CA that signed the server certificate with --nats-tls-ca (or GRADMESH_NATS_TLS_CA), and connect to a name or address the certificate holds',
      });
    }
    throw new ClusterError(`cannot connect to NATS at ${redactUrl(url)}: ${(cause as Error).message}`, {
      worker: name,
      hint: 'check the --nats URL, that nats-server is running (gradmesh launch starts one for you), the credentials (--nats-creds, --nats-user/--nats-pass, --nats-token) and, when the server verifies clients, the client certificate (--nats-tls-cert, --nats-tls-key)',
      cause,
    });
  }
  // Before any subscription or publish, so every payload of the run takes the same path.
  installReceivedPayloads(nc);
  installDirectWrites(nc);
  await installSocketReads(nc);
  reinstallAfterReconnect(nc);
  return nc;
}

/**
 * A reconnect gives the client a new socket and a new parser, which would read the client's own way for the rest
 * of the run (slower, never wrong): the receive-side patches go on again, each checking itself as at first.
 * (Direct writes wrap the protocol handler, which a reconnect keeps.)
 */
function reinstallAfterReconnect(nc: NatsConnection): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'reconnect') continue;
      installReceivedPayloads(nc);
      await installSocketReads(nc);
    }
  })().catch(() => undefined);
}

/** Node's TLS verification failures of the server's certificate (the error or its cause carries the code). */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function untrustedCertificate(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (UNTRUSTED_CERTIFICATE_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

export interface ConnectionWatch {
  /** Called once when the connection is closed, or disconnected for longer than `graceMs`. */
  readonly onLost: (why: string) => void;
  /** Called when the connection drops (the client is trying to reconnect). */
  readonly onDisconnect?: (server: string) => void;
  /** Called after each reconnect (messages in flight during the gap are gone). */
  readonly onReconnect?: (server: string) => void;
  /** How long a disconnection may last before it counts as lost (default 60 s). */
  readonly graceMs?: number;
}

/** Watches the connection: reconnects are reported, a disconnection longer than the grace or a close is a loss. */
export function watchConnection(nc: NatsConnection, watch: ConnectionWatch | ((why: string) => void)): { stop(): void } {
  const w: ConnectionWatch = typeof watch === 'function' ? { onLost: watch } : watch;
  const graceMs = w.graceMs ?? 60_000;
  let stopped = false;
  let gap: NodeJS.Timeout | undefined;
  const lost = (why: string) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(gap);
    w.onLost(why);
  };
  const iterator = nc.status();
  void (async () => {
    for await (const status of iterator) {
      if (stopped) return;
      if (status.type === 'disconnect') {
        clearTimeout(gap);
        gap = setTimeout(() => lost(`disconnected from ${status.server} for more than ${graceMs / 1000} s`), graceMs);
        w.onDisconnect?.(status.server);
      } else if (status.type === 'reconnect') {
        clearTimeout(gap);
        gap = undefined;
        w.onReconnect?.(status.server);
      }
    }
  })().catch(() => undefined);
  void nc.closed().then((err) => lost(err ? `connection closed: ${err.message}` : 'connection closed'));
  return {
    stop() {
      stopped = true;
      clearTimeout(gap);
      (iterator as { stop?: () => void }).stop?.();
    },
  };
}
