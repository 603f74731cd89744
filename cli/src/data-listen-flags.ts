import { helpRow } from './args.js';
import { ConfigError, dataHostOrReason } from '@gradmesh/shared/internal';

/**
 * `gradmesh worker`'s options for its link listener (direct worker-to-worker links, `training.allreduce.transport:
 * "direct"`). Set in containers through GRADMESH_DATA_HOST / GRADMESH_DATA_PORT (Note [options from the
 * environment] in args.ts): a pod gives its own IP and a fixed port, so that other pods can dial it.
 */
export const DATA_LISTEN_OPTIONS = {
  'data-host': { type: 'string' },
  'data-port': { type: 'string' },
} as const;

/** Help lines, descriptions starting at `column` like the command's other options. */
export function dataListenUsage(column: number): string {
  const row = (flag: string, text: string) => helpRow(flag, text, column);
  return [
    row('--data-host <host>', 'address the link listener binds and the other ranks dial, for a run whose all-reduce'),
    row('', 'transport is "direct" (default: the local address of the NATS connection)'),
    row('--data-port <port>', 'its TCP port (default: 0, any free port; a container gives a fixed one, e.g. 29500)'),
  ].join('\n');
}

/** Where the worker's link listener binds: `port` 0 = any free port, no `host` = the NATS connection's local address. */
export interface DataListen {
  readonly host?: string;
  readonly port: number;
}

export function parseDataListenFlags(values: Readonly<Record<string, unknown>>): DataListen {
  const port = values['data-port'];
  const host = values['data-host'];
  let n = 0;
  if (port !== undefined) {
    n = Number(port);
    if (typeof port !== 'string' || !/^[0-9]{1,5}$/.test(port) || n > 65_535) {
      throw new ConfigError('--data-port', 'must be a port in [0, 65535] (0: any free port)', { value: port, hint: 'e.g. --data-port 29500' });
    }
  }
  if (host === undefined) return { port: n };
  const parsed = typeof host === 'string' ? dataHostOrReason(host) : 'must be a string';
  if (typeof parsed === 'string') throw new ConfigError('--data-host', parsed, { value: host, hint: 'e.g. --data-host 10.0.3.7; in Kubernetes, the pod IP from the downward API' });
  return { host: parsed.host, port: n };
}
