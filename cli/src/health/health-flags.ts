import { helpRow } from '../args.js';
import { ConfigError } from '@gradmesh/shared/internal';
import type { HealthAddress } from './health-server.js';

/** The options of the processes that serve health endpoints (coordinator, worker). */
export const HEALTH_OPTIONS = {
  'health-port': { type: 'string' },
  'health-host': { type: 'string' },
} as const;

/** Help lines, descriptions starting at `column` like the command's other options. */
export function healthUsage(column: number): string {
  const row = (flag: string, text: string) => helpRow(flag, text, column);
  return [
    row('--health-port <port>', 'serve /healthz (alive) and /readyz (ready: 200, else 503 and why) on this port,'),
    row('', 'for Kubernetes probes (default: none)'),
    row('--health-host <host>', 'the address to serve them on (default: 0.0.0.0, so the kubelet reaches the pod)'),
  ].join('\n');
}

/** Where to serve the health endpoints; undefined without --health-port. Port 0 is refused: a probe needs a known port. */
export function parseHealthFlags(values: Readonly<Record<string, unknown>>): HealthAddress | undefined {
  const port = values['health-port'];
  const host = values['health-host'];
  if (port === undefined) {
    if (host !== undefined) throw new ConfigError('--health-host', 'needs --health-port');
    return undefined;
  }
  const n = Number(port);
  if (typeof port !== 'string' || !/^[0-9]{1,5}$/.test(port) || n < 1 || n > 65_535) {
    throw new ConfigError('--health-port', 'must be a port in [1, 65535]', { value: port, hint: 'e.g. --health-port 8081; a probe needs a fixed port, so 0 is not allowed' });
  }
  if (host === undefined) return { host: '0.0.0.0', port: n };
  const m = typeof host === 'string' ? /^(?:\[([0-9a-fA-F:.]+)\]|([0-9a-fA-F:.]*:[0-9a-fA-F:.]*)|([A-Za-z0-9.-]+))$/.exec(host) : null;
  if (m === null) throw new ConfigError('--health-host', 'must be a host name or an IP address', { value: host, hint: 'e.g. --health-host 0.0.0.0 or --health-host 127.0.0.1' });
  return { host: m[1] ?? m[2] ?? m[3]!, port: n };
}
