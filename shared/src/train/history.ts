/** One epoch of training, as reported and as stored in checkpoints. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  learningRate: number;
  samplesPerSec: number;
  /** Model-specific means (e.g. `kl`, `reconstruction` per sample for a VAE). */
  extras: Record<string, number>;
}

/** What `fit` reports while it runs. */
export type ProgressEvent =
  /** A step completed: `step` is its number, `samples` the samples of its global batch. */
  | { type: 'batch'; epoch: number; epochs: number; batch: number; batches: number; loss: number; samplesPerSec: number; etaSeconds: number; step: number; samples: number }
  | { type: 'epoch'; record: EpochRecord; epochs: number; etaSeconds: number; stoppedEarly: boolean }
  | { type: 'checkpoint'; path: string; step: number }
  /** The NaN/Inf guard skipped this step's update; `ranks` reported a non-finite local gradient. */
  | { type: 'skipped'; step: number; ranks: readonly number[]; consecutive: number };
