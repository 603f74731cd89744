import type { NatsCredentials } from '@gradmesh/transport';
import type { RunFeed } from './feed/run-feed.js';
import { urlOf, type ListenAddress } from './listen-address.js';
import { MetricsServer } from './metrics/metrics-server.js';
import { RunMetrics } from './metrics/run-metrics.js';
import { DashboardServer } from './server/dashboard-server.js';
import { StatusResponder } from './status/status-responder.js';

export interface WatchOptions {
  readonly feed: RunFeed;
  readonly dashboard?: ListenAddress;
  readonly metrics?: ListenAddress;
  /** Bytes a dashboard viewer may have queued before it is dropped. */
  readonly viewerQueueBytes?: number;
  /** Answer `gradmesh status` for this run on this NATS server. */
  readonly status?: { readonly natsUrl: string; readonly runId: string; readonly credentials?: NatsCredentials | undefined };
  /** The control channel's drop counts (for the metrics). */
  readonly dropped?: () => Record<string, number>;
  readonly parameters?: number;
  readonly log: (line: string) => void;
}

export interface RunWatch {
  readonly dashboardUrl: string | undefined;
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts what the flags ask for around one run's feed: the dashboard, the metrics endpoint, the status responder. */
export async function watchRun(o: WatchOptions): Promise<RunWatch> {
  const closers: (() => Promise<void>)[] = [];
  try {
    let metrics: RunMetrics | undefined;
    let metricsUrl: string | undefined;
    if (o.metrics !== undefined) {
      metrics = new RunMetrics({ feed: o.feed, ...(o.dropped ? { dropped: o.dropped } : {}), ...(o.parameters === undefined ? {} : { parameters: o.parameters }) });
      const server = await MetricsServer.start(metrics.registry, o.metrics);
      closers.push(() => server.close());
      metricsUrl = urlOf({ host: o.metrics.host, port: server.address.port }, '/metrics');
      o.log(`metrics: ${metricsUrl}`);
    }
    let dashboardUrl: string | undefined;
    if (o.dashboard !== undefined) {
      const server = await DashboardServer.start({ feed: o.feed, address: o.dashboard, ...(o.viewerQueueBytes === undefined ? {} : { maxQueuedBytes: o.viewerQueueBytes }), ...(metrics ? { onViewerDropped: (reason) => metrics.viewerDropped(reason) } : {}) });
      closers.push(() => server.close());
      dashboardUrl = urlOf({ host: o.dashboard.host, port: server.address.port });
      o.log(`dashboard: ${dashboardUrl}`);
    }
    if (o.status !== undefined) {
      const responder = await StatusResponder.start({ ...o.status, history: o.feed.history });
      closers.push(() => responder.close());
    }
    return {
      dashboardUrl,
      metricsUrl,
      close: async () => {
        for (const close of closers.splice(0).reverse()) await close();
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close();
    throw error;
  }
}
