import type { StepTimingSample } from './run-observer.js';

/**
 * Reads a `--step-timings` file (train's or the coordinator's: one StepTimingSample as JSON per line, appended as
 * each step completes). Everything after the last newline is either empty or a line still being written, so a
 * torn last line is left for the next read.
 */
export function parseStepTimings(text: string): StepTimingSample[] {
  return text.split('\n').slice(0, -1).filter((l) => l.length > 0).map((l) => JSON.parse(l) as StepTimingSample);
}
