import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator, type ConnectionOptions } from '@nats-io/nats-core';
import { ConfigError } from '@gradmesh/shared/internal';

/**
 * The NATS identity of a process: how it authenticates (a creds or nkey seed file, a user and password, or a
 * token) and how it speaks TLS. Plain data on purpose — it is structured-cloned into the heartbeat thread
 * (workerData) and turned into connect() options by `natsConnectOptions` wherever a connection is opened,
 * so every connection of a process carries the same identity.
 *
 * Note [secrets stay out of sight]: a password, token or the contents of a creds file never appear in an
 * error message, a log line, argv or a process title. Errors name the flag (or environment variable) and,
 * for files, the path and the OS error code — never what was read. Child processes get their identity
 * through environment variables (`credentialsEnv`), which other users cannot read from /proc, unlike argv.
 */
export interface NatsCredentials {
  /** Contents of a `--nats-creds` file: a JWT creds file, or an nkey user seed (`SU…`, what `auth init` writes). */
  readonly creds?: Uint8Array;
  readonly credsFile?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** Paths (read by the NATS client when it connects); checked readable when resolved. */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
}

interface Source {
  readonly flag: string;
  readonly env: string;
}

/** Every credentials flag and the environment variable that stands in for it (the flag wins). */
export const NATS_CREDENTIAL_SOURCES = {
  creds: { flag: 'nats-creds', env: 'GRADMESH_NATS_CREDS' },
  user: { flag: 'nats-user', env: 'GRADMESH_NATS_USER' },
  pass: { flag: 'nats-pass', env: 'GRADMESH_NATS_PASS' },
  token: { flag: 'nats-token', env: 'GRADMESH_NATS_TOKEN' },
  tlsCa: { flag: 'nats-tls-ca', env: 'GRADMESH_NATS_TLS_CA' },
  tlsCert: { flag: 'nats-tls-cert', env: 'GRADMESH_NATS_TLS_CERT' },
  tlsKey: { flag: 'nats-tls-key', env: 'GRADMESH_NATS_TLS_KEY' },
} as const satisfies Record<string, Source>;

type Key = keyof typeof NATS_CREDENTIAL_SOURCES;

/**
 * The identity the flags and environment give (flag over environment variable, field by field); files are
 * read (creds) or checked readable (TLS) here, so a wrong path fails before anything starts.
 * Throws ConfigError naming the flag or variable; the message never holds a secret.
 */
export function resolveNatsCredentials(values: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env): NatsCredentials {
  const got: Partial<Record<Key, { value: string; from: string }>> = {};
  for (const [key, s] of Object.entries(NATS_CREDENTIAL_SOURCES) as [Key, Source][]) {
    const flag = values[s.flag];
    if (flag !== undefined) {
      if (typeof flag !== 'string' || flag === '') throw new ConfigError(`--${s.flag}`, 'must not be empty');
      got[key] = { value: flag, from: `--${s.flag}` };
    } else if (env[s.env] !== undefined && env[s.env] !== '') {
      got[key] = { value: env[s.env] as string, from: s.env };
    }
  }
  const methods = [got.creds && 'creds', (got.user || got.pass) && 'user/password', got.token && 'token'].filter(Boolean);
  if (methods.length > 1) {
    const where = [got.creds?.from, got.user?.from ?? got.pass?.from, got.token?.from].filter(Boolean).join(', ');
    throw new ConfigError('--nats-creds', `give one way to authenticate, not ${methods.join(' and ')} (from ${where})`);
  }
  if (got.user && !got.pass) throw new ConfigError(got.user.from, 'needs a password too', { hint: `give --nats-pass or ${NATS_CREDENTIAL_SOURCES.pass.env}` });
  if (got.pass && !got.user) throw new ConfigError(got.pass.from, 'needs a user too', { hint: `give --nats-user or ${NATS_CREDENTIAL_SOURCES.user.env}` });
  if (got.tlsCert && !got.tlsKey) throw new ConfigError(got.tlsCert.from, 'needs the key too (--nats-tls-key)');
  if (got.tlsKey && !got.tlsCert) throw new ConfigError(got.tlsKey.from, 'needs the certificate too (--nats-tls-cert)');
  let creds: Uint8Array | undefined;
  if (got.creds) {
    creds = readFile(got.creds.value, got.creds.from);
    if (credsKind(creds) === undefined) {
      throw new ConfigError(got.creds.from, 'is neither a NATS creds file (a user JWT and seed) nor an nkey user seed', { value: got.creds.value });
    }
  }
  for (const t of [got.tlsCa, got.tlsCert, got.tlsKey]) if (t) readFile(t.value, t.from);
  const tls = got.tlsCa || got.tlsCert ? { ...(got.tlsCa ? { caFile: got.tlsCa.value } : {}), ...(got.tlsCert ? { certFile: got.tlsCert.value, keyFile: got.tlsKey!.value } : {}) } : undefined;
  return {
    ...(creds ? { creds, credsFile: got.creds!.value } : {}),
    ...(got.user ? { user: got.user.value, pass: got.pass!.value } : {}),
    ...(got.token ? { token: got.token.value } : {}),
    ...(tls ? { tls } : {}),
  };
}

function readFile(file: string, from: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (cause) {
    // The code only (ENOENT, EACCES, …): the path is the user's own input, the contents are never shown.
    throw new ConfigError(from, `cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { value: file });
  }
}

function credsKind(bytes: Uint8Array): 'jwt' | 'seed' | undefined {
  const text = Buffer.from(bytes).toString('utf8');
  if (text.includes('-----BEGIN NATS USER JWT-----')) return 'jwt';
  return /^SU[A-Z2-7]{50,}$/.test(text.trim()) ? 'seed' : undefined;
}

/** The connect() options for an identity: its authenticator and TLS (nothing for an anonymous one). */
export function natsConnectOptions(c: NatsCredentials | undefined): Pick<ConnectionOptions, 'authenticator' | 'tls'> {
  if (c === undefined) return {};
  const creds = c.creds;
  const authenticator =
    creds !== undefined
      ? credsKind(creds) === 'seed'
        ? nkeyAuthenticator(new TextEncoder().encode(Buffer.from(creds).toString('utf8').trim()))
        : credsAuthenticator(creds)
      : c.user !== undefined
        ? usernamePasswordAuthenticator(c.user, c.pass ?? '')
        : c.token !== undefined
          ? tokenAuthenticator(c.token)
          : undefined;
  return { ...(authenticator ? { authenticator } : {}), ...(c.tls ? { tls: { ...c.tls } } : {}) };
}

/** How the identity is described in logs: the kind and the non-secret names only. */
export function describeCredentials(c: NatsCredentials | undefined): string {
  if (c === undefined) return 'no credentials';
  const who = c.credsFile !== undefined ? `creds ${c.credsFile}` : c.user !== undefined ? `user ${c.user}` : c.token !== undefined ? 'a token' : 'no credentials';
  return c.tls ? `${who}, TLS` : who;
}

/** The environment variables that hand `c` to a child process (Note [secrets stay out of sight]). */
export function credentialsEnv(c: NatsCredentials | undefined): Record<string, string> {
  const s = NATS_CREDENTIAL_SOURCES;
  const env: Record<string, string> = {};
  if (c === undefined) return env;
  if (c.credsFile !== undefined) env[s.creds.env] = c.credsFile;
  if (c.user !== undefined) env[s.user.env] = c.user;
  if (c.pass !== undefined) env[s.pass.env] = c.pass;
  if (c.token !== undefined) env[s.token.env] = c.token;
  if (c.tls?.caFile !== undefined) env[s.tlsCa.env] = c.tls.caFile;
  if (c.tls?.certFile !== undefined) env[s.tlsCert.env] = c.tls.certFile;
  if (c.tls?.keyFile !== undefined) env[s.tlsKey.env] = c.tls.keyFile;
  return env;
}

/** `env` without any credentials variable, so a child gets exactly the identity it is given. */
export function withoutCredentialsEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const s of Object.values(NATS_CREDENTIAL_SOURCES)) delete out[s.env];
  return out;
}

/** A URL as it may be shown: any `user:password@` part removed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/g, '//');
}
