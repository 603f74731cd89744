import { watchRun, type RunFeed, type RunWatch } from '@gradmesh/dashboard';
import type { NatsCredentials } from '@gradmesh/transport';
import type { WatchFlags } from './watch-flags.js';
import { createLogger, type Logger } from './log/logger.js';

const TEXT = createLogger({ format: 'text', role: 'gradmesh' });

/** Starts the dashboard / metrics / status responder a command's flags ask for (nothing when none). */
export async function startWatching(
  flags: WatchFlags,
  feed: RunFeed,
  extra: { parameters?: number; dropped?: () => Record<string, number>; status?: { natsUrl: string; runId: string; credentials?: NatsCredentials | undefined } } = {},
  log: Logger = TEXT,
): Promise<RunWatch | undefined> {
  if (flags.dashboard === undefined && flags.metrics === undefined && extra.status === undefined) return undefined;
  return watchRun({
    feed,
    ...(flags.dashboard ? { dashboard: flags.dashboard } : {}),
    ...(flags.metrics ? { metrics: flags.metrics } : {}),
    ...(flags.viewerQueueBytes === undefined ? {} : { viewerQueueBytes: flags.viewerQueueBytes }),
    ...extra,
    log: (line) => log.info(line),
  });
}

/** Stops watching; with --dashboard-linger, after serving the finished run that long. */
export async function stopWatching(watch: RunWatch | undefined, flags: WatchFlags, log: Logger = TEXT): Promise<void> {
  if (watch === undefined) return;
  if (watch.dashboardUrl !== undefined && flags.lingerMs > 0) {
    log.info(`run ended; the dashboard stays at ${watch.dashboardUrl} for ${flags.lingerMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, flags.lingerMs));
  }
  await watch.close();
}
