/** Watch a run: its event feed, the live dashboard, Prometheus metrics and the `gradmesh status` responder. */
export { RunFeed, evaluationView } from './feed/run-feed.js';
export type { FeedSubscriber } from './feed/run-feed.js';
export { RunHistory, HISTORY_LIMITS } from './feed/run-history.js';
export { DecimatedSeries } from './feed/decimated-series.js';
export { feedFromReport } from './feed/report-feed.js';
export type { FeedMessage, HistoryMessage, RunInfo, StepPoint, EvaluationView, WorkerView, ConfusionView } from './feed/feed-message.js';
export { DashboardServer, MAX_MESSAGE_BYTES } from './server/dashboard-server.js';
export type { DashboardServerOptions } from './server/dashboard-server.js';
export { originAllowed } from './server/origin.js';
export type { ViewerDropReason } from './server/viewer.js';
export { RunMetrics } from './metrics/run-metrics.js';
export { MetricsServer } from './metrics/metrics-server.js';
export { StatusResponder } from './status/status-responder.js';
export { parseListenAddress, urlOf, DEFAULT_HOST } from './listen-address.js';
export type { ListenAddress } from './listen-address.js';
export { watchRun } from './watch-run.js';
export type { RunWatch, WatchOptions } from './watch-run.js';
