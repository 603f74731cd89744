import type { SkippedStep, TrainingState } from '../training-state.js';

/** The skipped steps that end at the last step taken, in a row (empty when the last step was applied). */
export function consecutiveSkips(state: TrainingState): SkippedStep[] {
  const run: SkippedStep[] = [];
  let expected = state.step - 1;
  for (let i = state.skipped.length - 1; i >= 0 && state.skipped[i]!.step === expected; i--, expected--) run.unshift(state.skipped[i]!);
  return run;
}

/**
 * "steps 5–9 (rank 1 at steps 5, 6; ranks 0, 1 at step 7; the sum overflowed at steps 8, 9)": which steps
 * were skipped and whose local gradient was not finite, for the error that stops a run.
 */
export function describeSkips(skips: readonly SkippedStep[]): string {
  const steps = skips.length === 1 ? `step ${skips[0]!.step}` : `steps ${skips[0]!.step}–${skips[skips.length - 1]!.step}`;
  const byRanks = new Map<string, number[]>();
  for (const k of skips) {
    const key = k.ranks.length === 0 ? 'the summed gradient overflowed (every local gradient was finite)' : `rank${k.ranks.length > 1 ? 's' : ''} ${k.ranks.join(', ')}`;
    byRanks.set(key, [...(byRanks.get(key) ?? []), k.step]);
  }
  const parts = [...byRanks].map(([who, at]) => `${who} at step${at.length > 1 ? 's' : ''} ${at.join(', ')}`);
  return `${steps} (${parts.join('; ')})`;
}
