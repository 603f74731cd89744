import type { StepBody } from '@gradmesh/shared/internal';

/** What a replica knows of its run that bounds a `step` command (Note [commands are bounded by the run]). */
export interface StepBounds {
  readonly epochs: number;
  readonly batchesPerEpoch: number;
  /** The learning rate of the update after `step` completed steps, computed from the run's own config. */
  lrAt(step: number): number;
  /** How many steps may be outstanding at once: the one running and those queued (`ready.stepWindow`, Note [steps to undo] in replica.ts). */
  readonly window: number;
}

/**
 * Note [commands are bounded by the run]
 * Only the coordinator's identity may publish commands (the server enforces it), so a command out of these
 * bounds is a bug or a coordinator that is not ours (an unauthenticated server): it is dropped and counted,
 * never executed. The bounds follow from what every replica already holds — the config of its assignment and
 * its data: the next step is the last one + 1, within the steps it can undo (`applied`: the steps it has applied),
 * the epoch and batch exist, and the learning rate is the one the
 * run's schedule gives for that step (the coordinator computes it with the same pure function from the same
 * config, so equality is exact; a step with lr = 1e30 cannot pass).
 * Returns the problem in words, or undefined when the command is within bounds.
 */
export function stepCommandProblem(body: StepBody, lastStep: number, applied: number, bounds: StepBounds): string | undefined {
  if (body.step > lastStep + 1) return `step ${body.step} skips steps: the last step command was ${lastStep}`;
  if (body.step >= applied + bounds.window) return `step ${body.step} is outside this replica's window of ${bounds.window} steps from step ${applied}, the next it applies (Note [steps are sent ahead])`;
  if (body.epoch >= bounds.epochs) return `epoch ${body.epoch} is past the run's ${bounds.epochs} epochs`;
  if (body.batchIndex >= bounds.batchesPerEpoch) return `batch ${body.batchIndex} does not exist (${bounds.batchesPerEpoch} batches per epoch)`;
  const lr = bounds.lrAt(body.step);
  if (!Object.is(body.lr, lr)) return `learning rate ${body.lr} is not the run's schedule value ${lr} for step ${body.step}`;
  return undefined;
}
