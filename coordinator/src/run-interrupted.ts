import { ClusterError } from '@gradmesh/shared/internal';

/** Where an interrupted run stopped, and the checkpoint it can resume from (undefined: nothing is resumable). */
export interface InterruptedAt {
  /** The signal (`SIGINT`, `SIGTERM`) or `the launcher's exit`. */
  readonly reason: string;
  readonly step: number;
  /** Where the checkpoint the run resumes from is (`/dir/ckpt-….safetensors`, `nats:<bucket>/ckpt-…`). */
  readonly checkpoint: string | undefined;
  /** Why there is nothing to resume, when `checkpoint` is undefined. */
  readonly whyNothing: string;
}

/**
 * The run stopped because it was asked to (a signal to the coordinator): a ClusterError like any failure (the
 * workers are told, the exit code is 1), carrying where it stopped so that the command can print the exact way
 * to resume it — or say that nothing can be resumed.
 */
export class RunInterrupted extends ClusterError {
  readonly stop: InterruptedAt;
  constructor(stop: InterruptedAt) {
    super(`interrupted by ${stop.reason} at step ${stop.step}`, {
      step: stop.step,
      hint: stop.checkpoint === undefined ? `nothing is resumable: ${stop.whyNothing}` : `checkpoint ${stop.checkpoint}; continue with --resume`,
    });
    this.stop = stop;
    // Printed as its family (`gradmesh: ClusterError: interrupted by SIGINT at step …`), like every run failure.
    this.name = 'ClusterError';
  }
}
