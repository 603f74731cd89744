import type { RunConfig } from '@gradmesh/shared/internal';
import { gradmeshTrainer } from './gradmesh/trainer.js';
import { featureSizeOf, syntheticSamples } from './synthetic.js';
import { fullCollection, type FullCollection } from './full-collection.js';

/**
 * Does resident memory grow while training? Runs `steps` steps of a config on the pool (or native) backend and
 * samples the RSS every `every` steps, each right after a full collection (Note [sampled after a full collection]
 * in full-collection.ts). A leak of even one step-scoped allocation (a tensor, a
 * task object kept alive, an index buffer reallocated per step) grows RSS linearly in steps;
 * arenas, bounded caches and V8's heaps settle and then only fluctuate. So the verdict is taken
 * from the least-squares slope over the samples, not from first vs last (one GC can move RSS by
 * megabytes either way).
 *
 * Note [heap settling]: measured here, V8 grows the main thread's heap from ≈ 16 to ≈ 45 MiB over
 * the first ≈ 4000 MLP steps (its young generation widens to the default 2 × 16 MiB semi-spaces
 * under a high allocation rate) while the live heap stays at 10–25 MiB: a one-off sizing, not a
 * leak, that would otherwise read as ≈ 30 MiB of growth. The warm-up therefore runs until the
 * heap size has held still for two chunks of steps (bounded), and the report keeps the RSS before
 * the warm-up so the settling stays visible.
 */
export interface MemorySample {
  readonly step: number;
  readonly rssBytes: number;
  /** Main thread's V8 heap: reserved and live. */
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  /** Taken right after a full garbage collection (Note [sampled after a full collection]). */
  readonly afterFullCollection: boolean;
}

export interface MemoryCheck {
  readonly model: string;
  readonly backend: string;
  readonly batch: number;
  readonly steps: number;
  readonly warmupSteps: number;
  /** RSS after the first step, before the rest of the warm-up (Note [heap settling]). */
  readonly rssBeforeWarmupBytes: number;
  readonly samples: readonly MemorySample[];
  readonly firstBytes: number;
  readonly lastBytes: number;
  readonly maxBytes: number;
  /** Least-squares RSS slope over the samples, bytes per 1000 steps. */
  readonly slopeBytesPer1000Steps: number;
  /** Least-squares slope of the main thread's live heap over the samples, bytes per 1000 steps (a JavaScript leak shows here). */
  readonly liveHeapSlopeBytesPer1000Steps: number;
  /**
   * Least-squares slope of RSS minus the main thread's reserved heap (native and WebAssembly memory, buffers, the
   * pool threads' heaps), bytes per 1000 steps: V8 may keep a larger reservation even after a full collection, which
   * moves RSS without anything being retained; this slope leaves that out.
   */
  readonly outsideHeapSlopeBytesPer1000Steps: number;
  /** Whether every sample followed a full collection (Note [sampled after a full collection]); false where none could be run. */
  readonly collected: boolean;
  /**
   * After full collections (Note [what grows]): true when the fitted growth over the run of the live heap exceeds
   * max(4 MiB, 20 % of its first sample), or that of RSS outside the main-thread heap exceeds max(8 MiB, 5 % of its
   * first sample). Without collections: when RSS's fitted growth exceeds max(8 MiB, 5 % of the first sample).
   */
  readonly grows: boolean;
  readonly seconds: number;
}

export interface MemoryCheckOptions {
  readonly steps: number;
  readonly every?: number;
  readonly threads: number;
  /** Default pool. */
  readonly backend?: 'pool' | 'native';
  readonly batch?: number;
  readonly onSample?: (sample: MemorySample) => void;
}

const WARMUP_CHUNK = 500;
const MAX_WARMUP_STEPS = 8000;
/** Heap-size changes below this count as "held still". */
const SETTLED_BYTES = 1024 * 1024;

function sampleAt(step: number, gc: FullCollection | null): MemorySample {
  gc?.();
  const m = process.memoryUsage();
  return { step, rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, afterFullCollection: gc !== null };
}

export async function runMemoryCheck(config: RunConfig, options: MemoryCheckOptions): Promise<MemoryCheck> {
  const every = options.every ?? 1000;
  const batch = options.batch ?? config.training.batchSize;
  const gc = fullCollection();
  const trainer = await gradmeshTrainer(config, syntheticSamples(batch, featureSizeOf(config.model)), batch, { backend: options.backend ?? 'pool', threads: options.threads });
  const started = performance.now();
  const samples: MemorySample[] = [];
  let warmupSteps = 0;
  let rssBeforeWarmupBytes = 0;
  try {
    await trainer.step();
    rssBeforeWarmupBytes = process.memoryUsage.rss();
    warmupSteps = 1;
    let previous = process.memoryUsage().heapTotal;
    let still = 0;
    while (still < 2 && warmupSteps < MAX_WARMUP_STEPS) {
      for (let i = 0; i < WARMUP_CHUNK; i++) await trainer.step();
      warmupSteps += WARMUP_CHUNK;
      const now = process.memoryUsage().heapTotal;
      still = Math.abs(now - previous) < SETTLED_BYTES ? still + 1 : 0;
      previous = now;
    }
    const sample = (step: number) => {
      const s = sampleAt(step, gc);
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
  const series = memorySeries(samples);
  const { rss } = series;
  const per1000 = (y: number[]) => leastSquaresSlope(series.steps, y) * 1000;
  return {
    model: config.name,
    backend: `${options.backend ?? 'pool'} (${options.threads} threads)`,
    batch,
    steps: options.steps,
    warmupSteps,
    rssBeforeWarmupBytes,
    samples,
    firstBytes: rss[0]!,
    lastBytes: rss[rss.length - 1]!,
    maxBytes: Math.max(...rss),
    slopeBytesPer1000Steps: per1000(series.rss),
    liveHeapSlopeBytesPer1000Steps: per1000(series.live),
    outsideHeapSlopeBytesPer1000Steps: per1000(series.outside),
    collected: gc !== null,
    grows: memoryGrows(samples, options.steps, gc !== null),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The verdict of a memory check over `steps` steps (Note [what grows]): with samples taken after full collections,
 * whether the live heap or RSS outside the main-thread heap grows; otherwise whether RSS grows.
 */
export function memoryGrows(samples: readonly MemorySample[], steps: number, collected: boolean): boolean {
  const MiB = 1024 * 1024;
  const series = memorySeries(samples);
  const over = (y: number[], floor: number, share: number) => leastSquaresSlope(series.steps, y) * steps > Math.max(floor, share * y[0]!);
  // Note [what grows]: a full collection leaves the live heap; what V8 keeps reserved beyond it (heapTotal −
  // heapUsed) is sized by the allocation rate — the young generation alone may widen by 2 × 16 MiB semi-spaces
  // thousands of steps into a run (2026-12-02, CNN-BN on the pool: reserved 24.9 → 39.9 MiB at steps 3000–5000
  // while the live heap stayed 18.3 MiB and RSS outside the heap 176.6 → 176.8) — bounded, and not retained by
  // anything. A leak grows the live heap (JavaScript objects) or RSS outside the heap (native, WebAssembly and
  // buffer memory, the pool threads' heaps); the verdict looks at those two.
  if (!collected) return over(series.rss, 8 * MiB, 0.05);
  return over(series.live, 4 * MiB, 0.2) || over(series.outside, 8 * MiB, 0.05);
}

/** The samples' steps and the three memory figures the check fits: RSS, the live heap, RSS outside the main-thread heap. */
function memorySeries(samples: readonly MemorySample[]): { steps: number[]; rss: number[]; live: number[]; outside: number[] } {
  return {
    steps: samples.map((s) => s.step),
    rss: samples.map((s) => s.rssBytes),
    live: samples.map((s) => s.heapUsedBytes),
    outside: samples.map((s) => s.rssBytes - s.heapTotalBytes),
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
