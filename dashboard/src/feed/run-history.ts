import { PROTOCOL_VERSION, type EpochRecord, type RunEvent, type RunState, type RunStatus, type StepTimingSample, type WorkerHealth } from '@gradmesh/shared/internal';
import { DecimatedSeries } from './decimated-series.js';
import type { EvaluationView, FeedMessage, RunInfo, StepPoint, WorkerView } from './feed-message.js';

/** Bounds of what a late viewer receives (and what a process keeps): the history is O(1) in the run's length. */
export const HISTORY_LIMITS = { steps: 2000, epochs: 1000, evaluations: 20, events: 500, workers: 1024 } as const;

/** A worker is lagging when its last step took this many times the world's median step. */
const LAGGING_FACTOR = 2;

interface WorkerTotals {
  rank: number | null;
  worker: string;
  health: WorkerHealth;
  steps: number;
  computeMs: number;
  allreduceMs: number;
  waitMs: number;
  lastStepMs: number | null;
}

/**
 * Where a run stands, kept bounded: the decimated step curve, the epochs, the last evaluations and events, and
 * each worker's totals. Every feed message is applied here; `messages()` replays the state for a late viewer,
 * `status()` answers `gradmesh status`.
 */
export class RunHistory {
  info: RunInfo | null = null;
  state: RunState = 'forming';
  generation = 0;
  world = 0;
  lastPoint: StepPoint | null = null;
  readonly #steps = new DecimatedSeries<StepPoint>(HISTORY_LIMITS.steps);
  readonly #epochs: { record: EpochRecord; epochs: number }[] = [];
  readonly #evaluations: EvaluationView[] = [];
  readonly #events: RunEvent[] = [];
  readonly #workers = new Map<string, WorkerTotals>();
  /** worker id by rank in the current generation. */
  #ranks = new Map<number, string>();

  apply(message: FeedMessage): void {
    switch (message.type) {
      case 'info':
        this.info = message.info;
        if (this.world === 0) this.world = message.info.world;
        return;
      case 'steps':
        for (const p of message.points) this.#steps.push(p);
        if (message.points.length > 0) this.lastPoint = message.points[message.points.length - 1]!;
        if (this.state === 'forming') this.state = 'running';
        return;
      case 'epoch':
        pushBounded(this.#epochs, { record: message.record, epochs: message.epochs }, HISTORY_LIMITS.epochs);
        return;
      case 'evaluation':
        pushBounded(this.#evaluations, message.evaluation, HISTORY_LIMITS.evaluations);
        return;
      case 'stepTimed':
        return this.#stepTimed(message.sample);
      case 'workers':
        for (const w of message.workers) this.#workers.set(w.worker, { ...w });
        return;
      case 'event':
        pushBounded(this.#events, message.event, HISTORY_LIMITS.events);
        return this.#event(message.event);
      case 'state':
        this.state = message.state;
        return;
    }
  }

  workers(): WorkerView[] {
    return [...this.#workers.values()].sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.worker.localeCompare(b.worker)).map((w) => ({ ...w }));
  }

  /** The bounded history as messages, in an order that rebuilds this state when applied. */
  messages(): FeedMessage[] {
    const out: FeedMessage[] = [];
    if (this.info) out.push({ type: 'info', info: this.info });
    for (const event of this.#events) out.push({ type: 'event', event });
    out.push({ type: 'steps', points: this.#steps.items() });
    for (const e of this.#epochs) out.push({ type: 'epoch', record: e.record, epochs: e.epochs });
    for (const evaluation of this.#evaluations) out.push({ type: 'evaluation', evaluation });
    out.push({ type: 'workers', workers: this.workers() });
    out.push({ type: 'state', state: this.state });
    return out;
  }

  status(run: string, now = Date.now()): RunStatus {
    const p = this.lastPoint;
    const lastEpoch = this.#epochs[this.#epochs.length - 1];
    const workers = this.workers();
    return {
      v: PROTOCOL_VERSION,
      run,
      state: this.state,
      world: this.world,
      generation: this.generation,
      step: p?.step ?? 0,
      epoch: p?.epoch ?? lastEpoch?.record.epoch ?? 0,
      epochs: this.info?.epochs ?? lastEpoch?.epochs ?? 0,
      loss: p?.loss ?? lastEpoch?.record.trainLoss ?? null,
      samplesPerSec: p?.samplesPerSec ?? null,
      time: now,
      workers: workers.slice(0, HISTORY_LIMITS.workers).map((w) => ({
        rank: w.rank,
        worker: w.worker,
        health: w.health,
        steps: w.steps,
        computeMs: w.steps > 0 ? w.computeMs / w.steps : null,
        allreduceMs: w.steps > 0 ? w.allreduceMs / w.steps : null,
        waitMs: w.steps > 0 ? w.waitMs / w.steps : null,
      })),
    };
  }

  #worker(worker: string, rank: number | null): WorkerTotals {
    let w = this.#workers.get(worker);
    if (w === undefined) {
      if (this.#workers.size >= HISTORY_LIMITS.workers) this.#workers.delete(this.#workers.keys().next().value!);
      w = { rank, worker, health: 'waiting', steps: 0, computeMs: 0, allreduceMs: 0, waitMs: 0, lastStepMs: null };
      this.#workers.set(worker, w);
    }
    return w;
  }

  #event(e: RunEvent): void {
    this.generation = Math.max(this.generation, e.generation);
    const worker = e.worker === null ? undefined : this.#worker(e.worker, null);
    switch (e.kind) {
      case 'joined':
      case 'rejoined':
        if (worker !== undefined && worker.rank === null) worker.health = 'waiting';
        return;
      case 'left':
        if (worker !== undefined) worker.health = 'left';
        return;
      case 'lost':
        if (worker !== undefined) worker.health = 'lost';
        return;
      case 'dismissed':
        if (worker !== undefined) worker.health = 'dismissed';
        return;
      case 'generation':
        if (e.ranks === undefined) return;
        this.#ranks = new Map(e.ranks.map((r) => [r.rank, r.worker]));
        this.world = e.ranks.length;
        // Ranks are per generation: a worker outside the new one keeps its totals but holds no rank.
        for (const w of this.#workers.values()) if (!e.ranks.some((r) => r.worker === w.worker)) w.rank = null;
        for (const r of e.ranks) {
          const w = this.#worker(r.worker, r.rank);
          w.rank = r.rank;
          w.health = 'ok';
        }
        return;
      case 'error':
        if (worker !== undefined) worker.health = 'failed';
        this.state = 'failed';
        return;
      case 'interrupted':
        this.state = 'interrupted';
        return;
      case 'completed':
        this.state = 'completed';
        return;
      default:
        return; // state-transfer, redo, waiting, stepSkipped: shown in the event list only
    }
  }

  #stepTimed(sample: StepTimingSample): void {
    for (const r of sample.ranks) {
      const w = this.#worker(this.#ranks.get(r.rank) ?? `rank-${r.rank}`, r.rank);
      w.steps++;
      w.computeMs += r.computeMs;
      w.allreduceMs += r.allreduceMs;
      w.waitMs += r.waitMs;
      w.lastStepMs = r.computeMs + r.allreduceMs;
    }
    // Lagging = its own work (compute + all-reduce) on the last step is far above the world's median.
    const own = sample.ranks.map((r) => r.computeMs + r.allreduceMs).sort((a, b) => a - b);
    const median = own[Math.floor((own.length - 1) / 2)] ?? 0; // the lower median: of two ranks, the faster
    for (const r of sample.ranks) {
      const w = this.#workers.get(this.#ranks.get(r.rank) ?? `rank-${r.rank}`);
      if (w === undefined || w.health !== 'ok' && w.health !== 'lagging') continue;
      w.health = sample.ranks.length > 1 && r.computeMs > LAGGING_FACTOR * Math.max(1, median) ? 'lagging' : 'ok';
    }
  }
}

function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}
