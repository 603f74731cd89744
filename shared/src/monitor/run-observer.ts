/**
 * Note [run events]
 * What a run reports about itself besides its training progress (ProgressEvent): membership, generations,
 * skipped steps, errors, and each step's timings per rank. The coordinator and `train` publish into a
 * RunObserver; the dashboard, the Prometheus metrics and the status responder read the one feed built from it.
 * An event is one flat record `{ time, kind, generation, worker, step, detail }` so that kinds added later
 * (elastic generations, skipped steps) need no new shape: a consumer that does not know a kind still shows
 * its detail line. Observers are called on the training path: they must be cheap and must not throw.
 */

export const RUN_EVENT_KINDS = [
  // The coordinator's membership log (coordinator/src/run-events.ts), as is:
  'joined', // a worker joined the run
  'generation', // a generation formed (the first, or after a loss/leave/join); `ranks` lists its members
  'lost', // a member went silent or failed; its generation ends
  'left', // a worker left on purpose (SIGTERM) or went away before the run started
  'rejoined', // a known worker came back
  'state-transfer', // a live replica sent its state to new members
  'redo', // a command abandoned with its generation is carried out again
  'waiting', // below the minimum world size, waiting for workers
  // Besides membership:
  'dismissed', // a worker was not needed (the world is full)
  'stepSkipped', // a step whose update was skipped (e.g. a non-finite loss)
  'error', // the run failed (the worker and step of the failure when known)
  'interrupted', // stopped by a signal
  'completed', // the run finished
] as const;
export type RunEventKind = (typeof RUN_EVENT_KINDS)[number];

export interface RunEvent {
  /** Milliseconds since the Unix epoch. */
  readonly time: number;
  readonly kind: RunEventKind;
  /** The membership generation the event belongs to (0 before the first one forms). */
  readonly generation: number;
  readonly worker: string | null;
  readonly step: number | null;
  /** One human-readable line. */
  readonly detail: string;
  /** The members of the generation, for generation events. */
  readonly ranks?: readonly { readonly rank: number; readonly worker: string }[];
}

/** One rank's share of one step (Note [step-time breakdown] in coordinator/src/timings.ts). */
export interface RankStepTiming {
  readonly rank: number;
  readonly computeMs: number;
  readonly allreduceMs: number;
  /** The part of allreduceMs after compute ended (= allreduceMs without overlap; absent in older files). */
  readonly exposedAllreduceMs?: number;
  readonly waitMs: number;
  readonly samples: number;
}

/** One step as the coordinator timed it: its wall time and each rank's breakdown. */
export interface StepTimingSample {
  readonly step: number;
  readonly wallMs: number;
  readonly ranks: readonly RankStepTiming[];
}

/** Watches a run from the inside; every method is optional. */
export interface RunObserver {
  event?(event: RunEvent): void;
  stepTimed?(sample: StepTimingSample): void;
}
