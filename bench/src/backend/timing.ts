import { InternalError } from '@gradmesh/shared/internal';
/**
 * Steady-state throughput of a repeated operation: warm-up first (V8 tiers up JavaScript and
 * WebAssembly lazily, tfjs compiles kernels and XNNPACK builds operators on first use, piscina
 * threads start), then several timed runs of a few steps each, summarised by median, min and max.
 * The median is the headline figure because the host is shared and noisy (shared/README: ±30 %
 * between invocations); min and max show how noisy this run was.
 */

export interface Budget {
  /** Warm-up lasts at least this long (and at least one step). */
  readonly warmupMs: number;
  /** Each timed run lasts at least about this long (steps per run are sized from the warm-up). */
  readonly runMs: number;
  /** Timed runs continue until this much time is spent, once minRuns are done. */
  readonly budgetMs: number;
  readonly minRuns: number;
  readonly maxRuns: number;
}

export interface Throughput {
  /** Units per second (samples/s, GFLOP/s) of the timed runs. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Timed runs, and steps in each. */
  readonly runs: number;
  readonly stepsPerRun: number;
  readonly warmupSteps: number;
  /** Every timed run's rate, in the order measured. */
  readonly rates: readonly number[];
}

/**
 * Times `step` (which does `unitsPerStep` units of work) under `budget`. A step may be async
 * (a pool step awaits its threads); awaiting a synchronous one costs a microtask, far below the
 * millisecond steps measured here.
 */
export async function measureThroughput(step: () => unknown, unitsPerStep: number, budget: Budget): Promise<Throughput> {
  let warmupSteps = 0;
  let lastStepMs = 0;
  const warmupStart = performance.now();
  do {
    const t = performance.now();
    await step();
    lastStepMs = performance.now() - t;
    warmupSteps++;
  } while (performance.now() - warmupStart < budget.warmupMs);
  const stepsPerRun = Math.max(1, Math.round(budget.runMs / Math.max(lastStepMs, 1e-3)));
  const rates: number[] = [];
  const timedStart = performance.now();
  while (rates.length < budget.maxRuns && (rates.length < budget.minRuns || performance.now() - timedStart < budget.budgetMs)) {
    const t = performance.now();
    for (let i = 0; i < stepsPerRun; i++) await step();
    rates.push((unitsPerStep * stepsPerRun) / ((performance.now() - t) / 1000));
  }
  return { ...summarize(rates), runs: rates.length, stepsPerRun, warmupSteps, rates };
}

/**
 * Several measurements of one thing (the benchmark's passes) as one: all their runs pooled.
 * stepsPerRun and warmupSteps are the first measurement's (later passes size their own runs).
 */
export function mergeThroughputs(parts: readonly Throughput[]): Throughput {
  const first = parts[0];
  if (!first) throw new InternalError('mergeThroughputs: nothing to merge');
  const rates = parts.flatMap((p) => p.rates);
  return { ...summarize(rates), runs: rates.length, stepsPerRun: first.stepsPerRun, warmupSteps: first.warmupSteps, rates };
}

/** Median (upper median for an even count), min and max. */
export function summarize(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) throw new InternalError('summarize: no values');
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
