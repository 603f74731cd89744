/** One `step` command the coordinator will send, and what it does around it. */
export interface PlannedStep {
  readonly step: number;
  readonly epoch: number;
  readonly batchIndex: number;
  readonly lr: number;
  /** Replicas report a parameter checksum after this step. */
  readonly checksum: boolean;
  /** A mid-epoch checkpoint follows this step (training.checkpointEverySteps). */
  readonly checkpoint: boolean;
}

export interface PlanOptions {
  readonly epochs: number;
  readonly batches: number;
  /** Compare checksums every K steps (K ≥ 1). */
  readonly checksumEvery: number;
  /** training.checkpointEverySteps, when checkpoints are being written. */
  readonly checkpointEverySteps: number | undefined;
  /** How many more steps this run may take (--max-steps), Infinity without a limit. */
  readonly stepsLeft: number;
  /** The learning rate of optimizer step `step` (the schedule; see Model.learningRate). */
  readonly learningRate: (step: number) => number;
}

/**
 * The steps of one epoch from batch `fromBatch` on, numbered from `firstStep` — the loop body of Model.fit
 * laid out in advance: batch b of the epoch is optimizer step firstStep + (b − fromBatch), with the
 * schedule's learning rate for that step. Checksums are asked for every K-th step (step + 1 ≡ 0 mod K, so
 * "every 50" means after steps 50, 100, … counted from 1) and on the run's very last step; a mid-epoch
 * checkpoint follows every checkpointEverySteps-th step except the epoch's last (the epoch end writes one
 * anyway), exactly where Model.fit writes them.
 */
export function planEpoch(epoch: number, fromBatch: number, firstStep: number, o: PlanOptions): PlannedStep[] {
  const steps: PlannedStep[] = [];
  const count = Math.max(0, Math.min(o.batches - fromBatch, o.stepsLeft));
  for (let i = 0; i < count; i++) {
    const b = fromBatch + i;
    const step = firstStep + i;
    const lastOfRun = (b === o.batches - 1 && epoch === o.epochs - 1) || i === o.stepsLeft - 1;
    steps.push({
      step,
      epoch,
      batchIndex: b,
      lr: o.learningRate(step),
      checksum: (step + 1) % o.checksumEvery === 0 || lastOfRun,
      checkpoint: o.checkpointEverySteps !== undefined && o.checkpointEverySteps > 0 && (step + 1) % o.checkpointEverySteps === 0 && b + 1 < o.batches,
    });
  }
  return steps;
}
