import { helpRow } from './args.js';
import { modelKind, type RunConfig } from '@gradmesh/shared/internal';
import { parseListenAddress, type ListenAddress } from '@gradmesh/dashboard';
import { positiveInt, secondsFlag } from './args.js';

/** The options `train`, `coordinator` and `launch` share for watching a run. */
export const WATCH_OPTIONS = {
  dashboard: { type: 'string' },
  metrics: { type: 'string' },
  'dashboard-linger': { type: 'string' },
  'dashboard-queue': { type: 'string' },
} as const;

const WATCH_HELP: readonly [flag: string, text: string][] = [
  ['--dashboard [host:]port', 'serve a live dashboard (page at /, WebSocket at /ws); host defaults to 127.0.0.1'],
  ['--dashboard-linger <s>', 'keep serving the dashboard s seconds after the run ends (default: 0)'],
  ['--dashboard-queue <bytes>', 'a viewer with more bytes queued is dropped (default: 1048576)'],
  ['--metrics [host:]port', 'serve Prometheus metrics at /metrics; host defaults to 127.0.0.1'],
];

/** The help lines of the watch options, descriptions starting at `column` like the command's other options. */
export function watchUsage(column: number): string {
  return WATCH_HELP.map(([flag, text]) => helpRow(flag, text, column)).join('\n');
}

export interface WatchFlags {
  readonly dashboard: ListenAddress | undefined;
  readonly metrics: ListenAddress | undefined;
  readonly lingerMs: number;
  readonly viewerQueueBytes: number | undefined;
}

export function parseWatchFlags(values: Record<string, unknown>): WatchFlags {
  return {
    dashboard: values['dashboard'] === undefined ? undefined : parseListenAddress(values['dashboard'], '--dashboard'),
    metrics: values['metrics'] === undefined ? undefined : parseListenAddress(values['metrics'], '--metrics'),
    lingerMs: values['dashboard-linger'] === undefined ? 0 : secondsFlag(values['dashboard-linger'], '--dashboard-linger', 0),
    viewerQueueBytes: positiveInt(values['dashboard-queue'], '--dashboard-queue'),
  };
}

/** The config as the page shows it: the file's JSON, without the resolved paths. */
export function configForDisplay(config: RunConfig): RunConfig['raw'] {
  return { ...config.raw, modelKind: modelKind(config.model) };
}
