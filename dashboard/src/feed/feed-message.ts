import type { EpochRecord, JsonObject, RunEvent, RunState, StepTimingSample, WorkerHealth } from '@gradmesh/shared/internal';

/**
 * The messages of a run's feed. The feed's subscribers (dashboard server, metrics) receive them one by one as
 * the run goes; the browser receives the same shapes as JSON (`history` first, then updates) and applies
 * them with the same meaning, so the live page and a late viewer's page agree.
 */

/** What the run is: shown once at the top of the page. */
export interface RunInfo {
  readonly run: string;
  readonly name: string;
  /** `train` (one process), `cluster` (a coordinator), `report` (a finished run from its report). */
  readonly mode: 'train' | 'cluster' | 'report';
  readonly world: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Training samples per epoch (after the validation split); sizes each step's global batch. */
  readonly trainCount: number;
  readonly config: JsonObject;
  readonly modelSummary: string;
}

export interface StepPoint {
  /** Steps done (1 after the first step). */
  readonly step: number;
  /** 1-based epoch of the step. */
  readonly epoch: number;
  /** Running mean training loss of the epoch so far. */
  readonly loss: number;
  readonly samplesPerSec: number;
  readonly samples: number;
  readonly time: number;
}

export interface ConfusionView {
  readonly labels: readonly string[];
  /** counts[actual][predicted]. */
  readonly counts: readonly (readonly number[])[];
}

export interface EvaluationView {
  readonly split: 'test' | 'validation';
  readonly step: number;
  readonly loss: number;
  readonly accuracy: number | null;
  readonly count: number;
  readonly confusion: ConfusionView | null;
  readonly time: number;
}

/** One worker's row: its totals over the run (milliseconds summed over its steps). */
export interface WorkerView {
  readonly rank: number | null;
  readonly worker: string;
  readonly health: WorkerHealth;
  readonly steps: number;
  readonly computeMs: number;
  readonly allreduceMs: number;
  readonly waitMs: number;
  /** Wall milliseconds of its last step. */
  readonly lastStepMs: number | null;
}

export type FeedMessage =
  | { readonly type: 'info'; readonly info: RunInfo }
  | { readonly type: 'steps'; readonly points: readonly StepPoint[] }
  | { readonly type: 'epoch'; readonly record: EpochRecord; readonly epochs: number }
  | { readonly type: 'evaluation'; readonly evaluation: EvaluationView }
  | { readonly type: 'stepTimed'; readonly sample: StepTimingSample }
  | { readonly type: 'workers'; readonly workers: readonly WorkerView[] }
  | { readonly type: 'event'; readonly event: RunEvent }
  | { readonly type: 'state'; readonly state: RunState };

/** The first message a viewer receives: the bounded history, as messages to apply in order. */
export interface HistoryMessage {
  readonly type: 'history';
  readonly messages: readonly FeedMessage[];
}
