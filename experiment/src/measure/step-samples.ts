import { parseStepTimings, type StepTimingSample } from '@gradmesh/shared/internal';
import { medianP90 } from './quantiles.js';

/** One line of a `--step-timings` file (Note [step-time breakdown] in coordinator/src/timings.ts). */
export type StepTimingLine = StepTimingSample;

export interface StepFigures {
  readonly steps: number;
  /** Samples of the global batch per second of summed step wall time. */
  readonly samplesPerSec: number;
  readonly stepSeconds: { median: number; p90: number };
  readonly computeSeconds: { median: number; p90: number };
  readonly allreduceSeconds: { median: number; p90: number };
  /** The part of the all-reduce after compute ended (= allreduceSeconds without overlap). */
  readonly exposedAllreduceSeconds: { median: number; p90: number };
  readonly waitSeconds: { median: number; p90: number };
}

export { parseStepTimings };

/**
 * The measured steps' figures. A step's compute, all-reduce and wait are the means over its ranks (as the run
 * report's breakdown, but per step), so compute + exposed all-reduce + wait = the step's wall time (the rest of
 * the all-reduce overlapped compute); median and p90 are
 * over the measured steps. Throughput counts the samples the ranks processed (the global batch, or less on an
 * epoch's last step) over the summed wall time of those steps: evaluation and checkpoint time is not in it.
 */
export function stepFigures(measured: readonly StepTimingLine[]): StepFigures {
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const per = (f: (r: StepTimingLine['ranks'][number]) => number) => measured.map((s) => mean(s.ranks.map(f)) / 1000);
  const wallSeconds = measured.reduce((a, s) => a + s.wallMs, 0) / 1000;
  const samples = measured.reduce((a, s) => a + s.ranks.reduce((b, r) => b + r.samples, 0), 0);
  return {
    steps: measured.length,
    samplesPerSec: wallSeconds > 0 ? samples / wallSeconds : 0,
    stepSeconds: medianP90(measured.map((s) => s.wallMs / 1000)),
    computeSeconds: medianP90(per((r) => r.computeMs)),
    allreduceSeconds: medianP90(per((r) => r.allreduceMs)),
    exposedAllreduceSeconds: medianP90(per((r) => r.exposedAllreduceMs ?? r.allreduceMs)),
    waitSeconds: medianP90(per((r) => Math.max(0, r.waitMs))),
  };
}
