import { ConfigError } from '@gradmesh/shared/internal';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Loopback unless asked: a dashboard or metrics endpoint is never exposed by accident. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * Parses `[host:]port` (`8080`, `0.0.0.0:8080`, `[::1]:8080`); port 0 picks a free port. Throws ConfigError
 * naming `flag`.
 */
export function parseListenAddress(value: unknown, flag: string): ListenAddress {
  const bad = (message: string) => new ConfigError(flag, message, { value, hint: `e.g. ${flag} 8080 or ${flag} 0.0.0.0:8080` });
  if (typeof value !== 'string' || value.length === 0) throw bad('must be [host:]port');
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$/.exec(value);
  if (m === null) throw bad('must be [host:]port');
  const port = Number(m[2]);
  if (port > 65535) throw bad('port must be in [0, 65535]');
  const host = m[1] === undefined ? DEFAULT_HOST : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** The URL a browser on this machine opens for `address` (a wildcard host becomes loopback). */
export function urlOf(address: ListenAddress, path = '/'): string {
  const host = address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}${path}`;
}
