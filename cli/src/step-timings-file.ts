import { appendFileSync, writeFileSync } from 'node:fs';
import type { RunObserver, StepTimingSample } from '@gradmesh/shared/internal';
import type { RunFeed } from '@gradmesh/dashboard';

/**
 * The coordinator's `--step-timings <file>`: every step's timing sample (Note [step-time breakdown] in
 * coordinator/src/timings.ts), one JSON line per step, appended as the step completes. A reader that follows
 * the file (the scaling experiment runner) knows how many steps are done at any moment and gets per-step
 * figures, which the run report only has as sums.
 *
 * Note [step timings are written synchronously]: one short line per step, written before the next step is
 * sent, so the file is never behind the run by more than the step in flight; the runner's byte and CPU
 * snapshots rely on that.
 */
export function withStepTimings(feed: RunFeed, file: string | undefined): RunObserver {
  const write = stepTimingsWriter(file);
  if (write === undefined) return feed;
  return {
    event: (event) => feed.event(event),
    stepTimed: (sample: StepTimingSample) => {
      feed.stepTimed(sample);
      write(sample);
    },
  };
}

/** The `--step-timings` file of train and the coordinator: emptied once, then one JSON line per step. */
export function stepTimingsWriter(file: string | undefined): ((sample: StepTimingSample) => void) | undefined {
  if (file === undefined) return undefined;
  writeFileSync(file, '');
  return (sample) => appendFileSync(file, `${JSON.stringify(sample)}\n`);
}
