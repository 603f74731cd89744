import { helpRow } from './args.js';
import { NATS_CREDENTIAL_SOURCES, resolveNatsCredentials, type NatsCredentials } from '@gradmesh/transport';

/** The credentials flags every command that connects to NATS takes (transport/src/credentials.ts). */
export const NATS_AUTH_OPTIONS = Object.fromEntries(Object.values(NATS_CREDENTIAL_SOURCES).map((s) => [s.flag, { type: 'string' as const }])) as Record<
  (typeof NATS_CREDENTIAL_SOURCES)[keyof typeof NATS_CREDENTIAL_SOURCES]['flag'],
  { type: 'string' }
>;

/** Help text for the credentials flags, `column` wide before the descriptions (their variables are in the help's Environment list). */
export function natsAuthUsage(column = 29): string {
  const row = (flag: string, text: string) => helpRow(flag, text, column);
  return [
    row('--nats-creds <file>', 'NATS credentials: a creds file (user JWT + seed) or an nkey seed (gradmesh auth init)'),
    row('--nats-user <name>', 'NATS user (with --nats-pass)'),
    row('--nats-pass <secret>', 'NATS password (prefer GRADMESH_NATS_PASS: argv is visible to other local users)'),
    row('--nats-token <secret>', 'NATS token (prefer GRADMESH_NATS_TOKEN)'),
    row('--nats-tls-ca <file>', 'CA certificate to verify the NATS server with (TLS)'),
    row('--nats-tls-cert <file>', 'client certificate for mutual TLS (with --nats-tls-key)'),
    row('--nats-tls-key <file>', 'its private key'),
  ].join('\n');
}

/** The identity the flags and environment give; `undefined` for none (an open server). */
export function natsCredentialsFrom(values: Readonly<Record<string, unknown>>): NatsCredentials | undefined {
  const c = resolveNatsCredentials(values);
  return Object.keys(c).length === 0 ? undefined : c;
}
