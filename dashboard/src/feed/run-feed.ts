import { globalBatchRange, type Evaluation, type ProgressEvent, type RunEvent, type RunObserver, type RunState, type StepTimingSample } from '@gradmesh/shared/internal';
import type { ConfusionView, EvaluationView, FeedMessage, RunInfo } from './feed-message.js';
import { RunHistory } from './run-history.js';

export type FeedSubscriber = (message: FeedMessage) => void;

/** The most classes a confusion matrix on the page shows (a 1000-class matrix is not readable there). */
const MAX_CONFUSION_CLASSES = 64;

/**
 * The run-event feed: the one place `train` and the coordinator publish into (training progress, evaluations,
 * step timings, run events), and the one source the dashboard server, the metrics and the status responder
 * read. Publishing is synchronous and cheap (the history is bounded; subscribers buffer on their own), so it
 * may sit on the training path. It is a RunObserver, so the coordinator takes it as its observer directly.
 */
export class RunFeed implements RunObserver {
  readonly history = new RunHistory();
  readonly #subscribers = new Set<FeedSubscriber>();
  /** `train` has no coordinator timing its steps: the feed times them between progress events (rank 0). */
  #timesOwnSteps = false;
  #lastBatchAt: number | undefined;
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  subscribe(subscriber: FeedSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  setInfo(info: RunInfo): void {
    this.#publish({ type: 'info', info });
    if (info.mode === 'train' && !this.#timesOwnSteps) {
      this.#timesOwnSteps = true;
      this.event({ time: this.#now(), kind: 'generation', generation: 1, worker: 'local', step: null, detail: 'one process', ranks: [{ rank: 0, worker: 'local' }] });
    }
  }

  /** The training loop's progress (its `onProgress`). */
  readonly progress = (event: ProgressEvent): void => {
    if (event.type === 'batch') {
      const info = this.history.info;
      const batchSize = info?.batchSize ?? 0;
      const known = info !== null && info.trainCount > 0 && (event.batch - 1) * batchSize < info.trainCount;
      const [start, end] = known ? globalBatchRange(event.batch - 1, info.trainCount, batchSize) : [0, batchSize];
      const time = this.#now();
      const step = event.epoch * event.batches + event.batch;
      this.#publish({ type: 'steps', points: [{ step, epoch: event.epoch + 1, loss: event.loss, samplesPerSec: event.samplesPerSec, samples: end - start, time }] });
      if (this.#timesOwnSteps) {
        const at = performance.now();
        const wallMs = this.#lastBatchAt === undefined ? 0 : at - this.#lastBatchAt;
        this.#lastBatchAt = at;
        if (wallMs > 0) this.stepTimed({ step: step - 1, wallMs, ranks: [{ rank: 0, computeMs: wallMs, allreduceMs: 0, waitMs: 0, samples: end - start }] });
      }
      return;
    }
    if (event.type === 'skipped') {
      // The NaN/Inf guard's skip: an event in the list and a count in the metrics.
      const ranks = event.ranks.length > 0 ? `rank(s) ${event.ranks.join(', ')}` : 'the summed gradient overflowed';
      this.event({ time: this.#now(), kind: 'stepSkipped', generation: 0, worker: null, step: event.step, detail: `non-finite gradient (${ranks}); ${event.consecutive} in a row` });
      return;
    }
    if (event.type === 'epoch') {
      this.#lastBatchAt = undefined; // the validation pass is not a step
      this.#publish({ type: 'epoch', record: event.record, epochs: event.epochs });
      if (event.record.valLoss !== null) {
        this.#publish({ type: 'evaluation', evaluation: { split: 'validation', step: this.history.lastPoint?.step ?? 0, loss: event.record.valLoss, accuracy: event.record.valAccuracy, count: 0, confusion: null, time: this.#now() } });
      }
    }
  };

  /** An evaluation with its confusion matrix (the test evaluation at the end of a run). */
  evaluation(split: 'test' | 'validation', evaluation: Evaluation): void {
    this.#publish({ type: 'evaluation', evaluation: evaluationView(split, evaluation, this.history.lastPoint?.step ?? 0, this.#now()) });
  }

  event(event: RunEvent): void {
    this.#publish({ type: 'event', event });
  }

  stepTimed(sample: StepTimingSample): void {
    this.#publish({ type: 'stepTimed', sample });
  }

  setState(state: RunState): void {
    this.#publish({ type: 'state', state });
  }

  #publish(message: FeedMessage): void {
    this.history.apply(message);
    for (const s of this.#subscribers) s(message);
  }
}

export function evaluationView(split: 'test' | 'validation', e: Evaluation, step: number, time: number): EvaluationView {
  let confusion: ConfusionView | null = null;
  const m = e.confusion;
  if (m !== null && m.classes <= MAX_CONFUSION_CLASSES) {
    confusion = { labels: [...m.labels], counts: m.labels.map((_, actual) => m.labels.map((__, predicted) => m.count(actual, predicted))) };
  }
  return { split, step, loss: e.loss, accuracy: e.accuracy, count: e.count, confusion, time };
}
