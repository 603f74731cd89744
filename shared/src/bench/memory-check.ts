import type { RunConfig } from '../config/run-config.js';
import { gradmeshTrainer } from './gradmesh/trainer.js';
import { featureSizeOf, syntheticSamples } from './synthetic.js';

/**
 * Does resident memory grow while training? Runs `steps` MLP steps on the pool backend and
 * samples the RSS every `every` steps. A leak of even one step-scoped allocation (a tensor, a
 * task object kept alive, an index buffer reallocated per step) grows RSS linearly in steps;
 * arenas, bounded caches and V8's heap settle after a warm-up and then only fluctuate. So the
 * verdict is taken from the least-squares slope over the samples after the warm-up, not from
 * first vs last (one GC can move RSS by megabytes either way).
 */
export interface MemorySample {
  readonly step: number;
  readonly rssBytes: number;
}

export interface MemoryCheck {
  readonly model: string;
  readonly backend: string;
  readonly batch: number;
  readonly steps: number;
  readonly warmupSteps: number;
  readonly samples: readonly MemorySample[];
  readonly firstBytes: number;
  readonly lastBytes: number;
  readonly maxBytes: number;
  /** Least-squares RSS slope over the samples, bytes per 1000 steps. */
  readonly slopeBytesPer1000Steps: number;
  /** True when the fitted growth over the whole run exceeds max(16 MiB, 5 % of the first sample). */
  readonly grows: boolean;
  readonly seconds: number;
}

export interface MemoryCheckOptions {
  readonly steps: number;
  readonly every?: number;
  readonly threads: number;
  readonly batch?: number;
  readonly onSample?: (sample: MemorySample) => void;
}

const WARMUP_STEPS = 200;

export async function runMemoryCheck(config: RunConfig, options: MemoryCheckOptions): Promise<MemoryCheck> {
  const every = options.every ?? 1000;
  const batch = options.batch ?? config.training.batchSize;
  const trainer = await gradmeshTrainer(config, syntheticSamples(batch, featureSizeOf(config.model)), batch, { backend: 'pool', threads: options.threads });
  const started = performance.now();
  const samples: MemorySample[] = [];
  try {
    for (let i = 0; i < WARMUP_STEPS; i++) await trainer.step();
    const sample = (step: number) => {
      const s = { step, rssBytes: process.memoryUsage.rss() };
      samples.push(s);
      options.onSample?.(s);
    };
    sample(0);
    for (let step = 1; step <= options.steps; step++) {
      await trainer.step();
      if (step % every === 0 || step === options.steps) sample(step);
    }
  } finally {
    await trainer.dispose();
  }
  const rss = samples.map((s) => s.rssBytes);
  const first = rss[0]!;
  const slope = leastSquaresSlope(samples.map((s) => s.step), rss) * 1000;
  const growth = (slope * options.steps) / 1000;
  return {
    model: config.name,
    backend: `pool (${options.threads} threads)`,
    batch,
    steps: options.steps,
    warmupSteps: WARMUP_STEPS,
    samples,
    firstBytes: first,
    lastBytes: rss[rss.length - 1]!,
    maxBytes: Math.max(...rss),
    slopeBytesPer1000Steps: slope,
    grows: growth > Math.max(16 * 1024 * 1024, 0.05 * first),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Slope of the least-squares line through (x, y); 0 for fewer than two points. */
export function leastSquaresSlope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 2) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}
