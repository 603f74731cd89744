import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeedMessage } from '../feed/feed-message.js';
import type { RunFeed } from '../feed/run-feed.js';

/** Step phases are milliseconds to seconds long; these buckets (seconds) span 1 ms … 60 s. */
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The run's Prometheus metrics, fed by the run feed (one registry per process, not prom-client's global one).
 * Names follow the Prometheus conventions: `gradmesh_` prefix, base units (`_seconds`, `_bytes`), `_total`
 * for counters. `dropped` reads the control channel's drop counts at scrape time.
 */
export class RunMetrics {
  readonly registry = new Registry();
  readonly #steps: Counter;
  readonly #samples: Counter;
  readonly #loss: Gauge;
  readonly #samplesPerSec: Gauge;
  readonly #epoch: Gauge;
  readonly #stepPhase: Histogram;
  readonly #stepWall: Histogram;
  readonly #allreduceBytes: Counter;
  readonly #skipped: Counter;
  readonly #generation: Gauge;
  readonly #world: Gauge;
  readonly #evalAccuracy: Gauge;
  readonly #evalLoss: Gauge;
  readonly #viewersDropped: Counter;
  readonly #events: Counter;
  /** Bytes each rank sends in one all-reduce (0 until known, or for a single process). */
  #allreduceBytesPerRank = 0;

  constructor(options: { feed: RunFeed; dropped?: () => Record<string, number>; parameters?: number; processMetrics?: boolean }) {
    const registers = [this.registry];
    this.#steps = new Counter({ name: 'gradmesh_steps_total', help: 'Optimizer steps taken by this run since the process started.', registers });
    this.#samples = new Counter({ name: 'gradmesh_samples_total', help: 'Training samples processed (global batch sizes summed).', registers });
    this.#loss = new Gauge({ name: 'gradmesh_train_loss', help: 'Running mean training loss of the epoch in progress.', registers });
    this.#samplesPerSec = new Gauge({ name: 'gradmesh_train_samples_per_second', help: 'Training throughput of the epoch in progress.', registers });
    this.#epoch = new Gauge({ name: 'gradmesh_epoch', help: '1-based epoch in progress.', registers });
    this.#stepPhase = new Histogram({ name: 'gradmesh_step_phase_seconds', help: 'Time of one step per rank and phase (compute, allreduce, allreduce_exposed = the all-reduce after compute ended, wait).', labelNames: ['phase', 'rank'], buckets: STEP_BUCKETS, registers });
    this.#stepWall = new Histogram({ name: 'gradmesh_step_seconds', help: 'Wall time of one step, from the step command to the last rank done.', buckets: STEP_BUCKETS, registers });
    this.#allreduceBytes = new Counter({ name: 'gradmesh_allreduce_sent_bytes_total', help: 'Gradient bytes each rank sent in all-reduces: 2 (N - 1) / N of the float32 gradient vector per step (reduce-scatter + all-gather).', labelNames: ['rank'], registers });
    this.#skipped = new Counter({ name: 'gradmesh_skipped_steps_total', help: 'Steps whose update was skipped (e.g. a non-finite loss).', registers });
    this.#generation = new Gauge({ name: 'gradmesh_generation', help: 'Membership generation of the run (0 before ranks are assigned).', registers });
    this.#world = new Gauge({ name: 'gradmesh_world_size', help: 'Ranks in the current generation.', registers });
    this.#evalAccuracy = new Gauge({ name: 'gradmesh_evaluation_accuracy_ratio', help: 'Accuracy of the last evaluation, 0..1.', labelNames: ['split'], registers });
    this.#evalLoss = new Gauge({ name: 'gradmesh_evaluation_loss', help: 'Mean loss of the last evaluation.', labelNames: ['split'], registers });
    this.#viewersDropped = new Counter({ name: 'gradmesh_dashboard_viewers_dropped_total', help: 'Dashboard viewers dropped or refused, by reason.', labelNames: ['reason'], registers });
    this.#events = new Counter({ name: 'gradmesh_run_events_total', help: 'Run events (joins, generations, errors, …) by kind.', labelNames: ['kind'], registers });
    const dropped = options.dropped;
    const seen = new Map<string, number>();
    new Counter({
      name: 'gradmesh_dropped_messages_total',
      help: 'Control messages dropped by this process, by message kind and reason.',
      labelNames: ['kind', 'reason'],
      registers,
      // The control channel keeps its own counts; the counter catches up with them when scraped.
      collect() {
        for (const [key, n] of Object.entries(dropped?.() ?? {})) {
          const [kind = key, reason = 'unknown'] = key.split('/');
          const delta = n - (seen.get(key) ?? 0);
          if (delta > 0) this.inc({ kind, reason }, delta);
          seen.set(key, n);
        }
      },
    });
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'gradmesh_' });
      // prom-client names three gauges `…_total`, which Prometheus reserves for counters (promtool rejects them).
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(`gradmesh_${name}`);
    }
    this.#parameters = options.parameters ?? 0;
    options.feed.subscribe((m) => this.#onMessage(m));
  }

  readonly #parameters: number;

  viewerDropped(reason: string): void {
    this.#viewersDropped.inc({ reason });
  }

  #onMessage(m: FeedMessage): void {
    switch (m.type) {
      case 'steps':
        for (const p of m.points) {
          this.#steps.inc();
          this.#samples.inc(p.samples);
          this.#loss.set(p.loss);
          this.#samplesPerSec.set(p.samplesPerSec);
          this.#epoch.set(p.epoch);
        }
        return;
      case 'stepTimed':
        this.#stepWall.observe(m.sample.wallMs / 1000);
        for (const r of m.sample.ranks) {
          const rank = String(r.rank);
          this.#stepPhase.observe({ phase: 'compute', rank }, r.computeMs / 1000);
          this.#stepPhase.observe({ phase: 'allreduce', rank }, r.allreduceMs / 1000);
          this.#stepPhase.observe({ phase: 'allreduce_exposed', rank }, (r.exposedAllreduceMs ?? r.allreduceMs) / 1000);
          this.#stepPhase.observe({ phase: 'wait', rank }, Math.max(0, r.waitMs) / 1000);
          if (this.#allreduceBytesPerRank > 0) this.#allreduceBytes.inc({ rank }, this.#allreduceBytesPerRank);
        }
        return;
      case 'event': {
        const e = m.event;
        this.#events.inc({ kind: e.kind });
        this.#generation.set(e.generation);
        if (e.kind === 'stepSkipped') this.#skipped.inc();
        if (e.ranks !== undefined) {
          const n = e.ranks.length;
          this.#world.set(n);
          this.#allreduceBytesPerRank = n > 1 ? Math.round((2 * (n - 1) * this.#parameters * 4) / n) : 0;
        }
        return;
      }
      case 'evaluation':
        if (m.evaluation.accuracy !== null) this.#evalAccuracy.set({ split: m.evaluation.split }, m.evaluation.accuracy);
        this.#evalLoss.set({ split: m.evaluation.split }, m.evaluation.loss);
        return;
      case 'info':
        this.#world.set(m.info.world);
        this.#skipped.inc(0);
        return;
      default:
        return;
    }
  }
}
