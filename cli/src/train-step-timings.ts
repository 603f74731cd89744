import type { ProgressEvent } from '@gradmesh/shared/internal';
import { stepTimingsWriter } from './step-timings-file.js';

/**
 * `train --step-timings <file>`: every step as one JSON line, in the coordinator's format (a StepTimingSample
 * with one rank), so that `bench cluster` and other readers treat one process and a cluster alike. A step's
 * wall time is the time since the previous step completed (the first: since the loop started), which is
 * everything the single process does for that step.
 */
export function trainStepTimings(file: string | undefined): ((event: ProgressEvent) => void) | undefined {
  const write = stepTimingsWriter(file);
  if (write === undefined) return undefined;
  let last = performance.now();
  return (event) => {
    if (event.type !== 'batch') return;
    const now = performance.now();
    const wallMs = now - last;
    last = now;
    write({ step: event.step, wallMs, ranks: [{ rank: 0, computeMs: wallMs, allreduceMs: 0, waitMs: 0, samples: event.samples }] });
  };
}
