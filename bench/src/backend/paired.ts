import { InternalError } from '@gradmesh/shared/internal';
import { summarize } from './timing.js';

/**
 * Note [paired windows]: on this shared 2-core host another tenant can take a core for seconds, so
 * two figures measured a minute apart (even in one `bench backend` run) can differ by 2× for
 * reasons that have nothing to do with the code. A paired measurement keeps every subject alive in
 * one process and alternates them in short windows (A B C, then C B A, …); each round's ratio
 * compares windows a second apart, and the spread of the per-round ratios shows how much the load
 * moved. The headline is the median of those per-round figures.
 */
export interface PairedSubject {
  readonly label: string;
  /** Units of work per call of `step` (samples, GFLOP). */
  readonly units: number;
  step(): unknown;
  dispose(): Promise<void>;
}

export interface PairedOptions {
  readonly rounds: number;
  /** Each subject runs whole steps for at least this long per round. */
  readonly windowMs: number;
  /** Untimed steps of every subject first (V8 tiers up, piscina threads start). */
  readonly warmupMs: number;
}

export interface PairedResult {
  readonly label: string;
  /** Units per second, one per round, in round order. */
  readonly rates: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Units per second of each subject, round by round, in mirrored order (Note [paired windows]). */
export async function measurePaired(subjects: readonly PairedSubject[], options: PairedOptions): Promise<PairedResult[]> {
  if (subjects.length === 0) throw new InternalError('measurePaired: no subjects');
  const window = async (s: PairedSubject, ms: number): Promise<number> => {
    let steps = 0;
    const start = performance.now();
    do {
      await s.step();
      steps++;
    } while (performance.now() - start < ms);
    return (steps * s.units) / ((performance.now() - start) / 1000);
  };
  for (const s of subjects) await window(s, options.warmupMs);
  const rates = subjects.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    const order = subjects.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) rates[i]!.push(await window(subjects[i]!, options.windowMs));
  }
  return subjects.map((s, i) => ({ label: s.label, rates: rates[i]!, ...summarize(rates[i]!) }));
}

/** Per-round ratio numerator ÷ denominator (same rounds), summarised: median, min, max. */
export function pairedRatio(numerator: PairedResult, denominator: PairedResult): { median: number; min: number; max: number } {
  if (numerator.rates.length !== denominator.rates.length) throw new InternalError('pairedRatio: results of different runs');
  return summarize(numerator.rates.map((r, i) => r / denominator.rates[i]!));
}
