import type { NatsCredentials } from '@gradmesh/transport';

/**
 * Whether a run with encrypted links (Note [encrypted links]) would still send their secret in the clear: the
 * generation's secret reaches the workers in their assignment over the coordinator's NATS connection, so the link
 * keys are only as private as that connection. It is protected when it uses TLS (a `tls://` URL or TLS flags), or
 * when the server is on this machine's loopback (nothing crosses a network there: `gradmesh launch`).
 */
export function linkSecretInTheClear(natsUrl: string, credentials: NatsCredentials | undefined): boolean {
  if (credentials?.tls !== undefined || /^tls:\/\//i.test(natsUrl)) return false;
  return !/^(?:nats:\/\/)?(?:[^@/]*@)?(?:127\.[0-9.]+|localhost|\[::1\])(?::[0-9]+)?\/?$/i.test(natsUrl.split(',')[0]!.trim());
}
