import os from 'node:os';
import type { RunConfig } from '@gradmesh/shared/internal';
import { probeCpuLoad } from './cpu-load.js';
import { poolGemm, referenceGemm, type GemmRunner } from './gradmesh/gemm.js';
import { gradmeshTrainer } from './gradmesh/trainer.js';
import { runMemoryCheck, type MemorySample } from './memory-check.js';
import { checkTargets, computeRatios, type BackendBenchReport, type Cell, type Contender, type NativeStatus, type Workload } from './report.js';
import { featureSizeOf, syntheticSamples } from './synthetic.js';
import { checkConv2dBackpropFilter, ensureConv2dBackpropFilter } from './tfjs/conv2d-backprop-filter.js';
import { tfjsGemm } from './tfjs/gemm.js';
import { loadTfjs, useTfjsBackend, type TfjsRuntime } from './tfjs/runtime.js';
import { tfjsTrainer, type Trainer } from './tfjs/trainer.js';
import { measureThroughput, mergeThroughputs, type Budget, type Throughput } from './timing.js';
import { formatMemorySample, formatRate } from './table.js';

export interface BackendBenchOptions {
  /** The example configs whose models are trained (examples/mnist-{mlp,cnn,lstm}.json). */
  readonly configs: { readonly mlp: RunConfig; readonly cnn: RunConfig; readonly lstm: RunConfig | null };
  /** ≈ 1 minute instead of a few: shorter budgets, and the hopeless cells skipped. */
  readonly quick: boolean;
  /** "All threads" of the pool (default os.availableParallelism()). */
  readonly threads?: number;
  /** GEMM size (default 1024). */
  readonly gemmSize?: number;
  /** Also run the RSS check over this many MLP steps (0 or undefined: skip). */
  readonly memorySteps?: number;
  /** One line per finished measurement, for a progress display. */
  readonly onProgress?: (line: string) => void;
}

/**
 * Note [mirrored passes]: every workload is measured in two passes over the contenders, the second
 * in reverse order (A B C D E, then E D C B A), and each cell pools the runs of both. On this
 * shared host another tenant can take a core for a few seconds (a run measured tfjs-wasm's GEMM at
 * 12 GFLOP/s for its first half and 24 for its second); in one pass that lands on a single
 * contender and skews its ratio, while mirrored passes put every contender both early and late.
 * The budgets below are per pass.
 */
const PASSES = 2;
const FULL: Budget = { warmupMs: 1000, runMs: 400, budgetMs: 2000, minRuns: 3, maxRuns: 8 };
const QUICK: Budget = { warmupMs: 400, runMs: 200, budgetMs: 500, minRuns: 2, maxRuns: 4 };
/**
 * For cells whose single step takes seconds (tfjs-cpu on the CNN: ≈ 3 samples/s, ≈ 20 s a step):
 * one warm-up step and two timed ones, in the first pass only. The median of two is their upper
 * value; the note says so. No ratio uses these cells.
 */
const FEW_STEPS: Budget = { warmupMs: 0, runMs: 0, budgetMs: 0, minRuns: 2, maxRuns: 2 };
const FEW_STEPS_NOTE = 'only 1 warm-up + 2 timed steps: a step takes seconds here';

type Plan = { readonly budget: Budget; readonly note: string | null } | { readonly skip: string };

/** How each cell is measured: what is too slow to time fully, or at all in --quick, and native only where it loads. */
function planFor(workload: Workload, contender: Contender, quick: boolean, native: NativeStatus): Plan {
  const base = quick ? QUICK : FULL;
  if ((contender === 'gradmesh-native-1' || contender === 'gradmesh-native-all') && !native.available) return { skip: `native unavailable: ${native.reason}` };
  const slowCell =
    (contender === 'tfjs-cpu' && (workload === 'cnnBatch64' || workload === 'lstmBatch64')) ||
    (contender === 'gradmesh-reference' && (workload === 'cnnBatch64' || workload === 'lstmBatch64' || workload === 'gemm'));
  if (quick && slowCell) return { skip: 'skipped in --quick (seconds per step)' };
  if (slowCell) return { budget: FEW_STEPS, note: FEW_STEPS_NOTE };
  return { budget: base, note: null };
}

const CONTENDER_ORDER: readonly Contender[] = ['gradmesh-pool-1', 'gradmesh-native-1', 'gradmesh-pool-all', 'gradmesh-native-all', 'gradmesh-reference', 'tfjs-wasm', 'tfjs-cpu'];

/**
 * The side-by-side benchmark: every contender on every workload in this one process,
 * workload by workload in mirrored passes (so a change of machine load hits all contenders of a
 * comparison alike), with a cpu-load probe before and after and the peak RSS before and after.
 */
export async function runBackendBenchmark(options: BackendBenchOptions): Promise<BackendBenchReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const progress = options.onProgress ?? (() => {});
  const peakBeforeBytes = process.resourceUsage().maxRSS * 1024;
  const threads = options.threads ?? os.availableParallelism();
  const n = options.gemmSize ?? 1024;

  const before = await probeCpuLoad();
  progress(`cpu load before: parallelCapacity ${before.parallelCapacity} (single ${before.singleMs} ms, dual ${before.dualMs} ms)`);
  const runtime = await loadTfjs();
  const registration = ensureConv2dBackpropFilter(runtime.tf, 'wasm');
  const check = await checkConv2dBackpropFilter(runtime.tf, 'wasm');
  progress(
    `tfjs ${runtime.version}: ${registration.registered ? 'registered a fallback' : 'found a'} ${registration.kernel} kernel on ${registration.backend}; ` +
      `checked against tfjs-backend-cpu on ${check.cases} shapes: max abs error ${check.maxAbsError.toExponential(2)} (values up to ${check.maxAbsValue.toFixed(1)}) — ${check.passed ? 'ok' : 'MISMATCH'}`,
  );

  const native = await nativeStatus();
  progress(native.available ? `native: ${native.openblas}, ${native.coreName} kernels; self-check error ${native.selfCheckError.toExponential(1)}` : `native: unavailable (${native.reason})`);

  const cells: Cell[] = [];
  /** Measures every contender of one workload in PASSES mirrored passes (Note [mirrored passes]). */
  const measureWorkload = async (workload: Workload, unit: Cell['unit'], units: number, make: (c: Contender) => Promise<GemmRunner | Trainer>) => {
    const parts = new Map<Contender, Throughput[]>();
    for (let pass = 0; pass < PASSES; pass++) {
      const order = pass % 2 === 0 ? CONTENDER_ORDER : [...CONTENDER_ORDER].reverse();
      for (const contender of order) {
        const plan = planFor(workload, contender, options.quick, native);
        if ('skip' in plan || (plan.budget === FEW_STEPS && pass > 0)) continue;
        const subject = await make(contender);
        try {
          const step = 'step' in subject ? () => subject.step() : () => subject.run();
          const result = await measureThroughput(step, units, plan.budget);
          parts.set(contender, [...(parts.get(contender) ?? []), result]);
          progress(`${workload.padEnd(12)} ${contender.padEnd(19)} pass ${pass + 1}: ${formatRate(result.median)} ${unit} (min ${formatRate(result.min)}, max ${formatRate(result.max)}, ${result.runs}×${result.stepsPerRun})`);
        } finally {
          await subject.dispose();
        }
      }
    }
    for (const contender of CONTENDER_ORDER) {
      const plan = planFor(workload, contender, options.quick, native);
      const measured = parts.get(contender);
      if ('skip' in plan || !measured) {
        cells.push({ workload, contender, unit, result: null, note: 'skip' in plan ? plan.skip : 'not measured' });
        continue;
      }
      cells.push({ workload, contender, unit, result: mergeThroughputs(measured), note: plan.note });
    }
  };

  // 1. GEMM n×n×n, 2n³ flops a run, in GFLOP.
  await measureWorkload('gemm', 'GFLOP/s', (2 * n ** 3) / 1e9, async (contender) => {
    switch (contender) {
      case 'gradmesh-pool-1': return poolGemm(n, 1);
      case 'gradmesh-pool-all': return poolGemm(n, threads);
      case 'gradmesh-native-1': return poolGemm(n, 1, 'native');
      case 'gradmesh-native-all': return poolGemm(n, threads, 'native');
      case 'gradmesh-reference': return referenceGemm(n);
      case 'tfjs-wasm':
      case 'tfjs-cpu': return tfjsGemm(await tfjsOn(runtime, contender), n);
    }
  });

  // 2–4. Training steps on the example models, samples/s.
  const training: [Workload, RunConfig | null, number][] = [
    ['mlpBatch64', options.configs.mlp, 64],
    ['mlpBatch256', options.configs.mlp, 256],
    ['cnnBatch64', options.configs.cnn, 64],
    ['lstmBatch64', options.configs.lstm, 64],
  ];
  for (const [workload, config, batch] of training) {
    if (!config) {
      for (const contender of CONTENDER_ORDER) cells.push({ workload, contender, unit: 'samples/s', result: null, note: 'no config for this model' });
      continue;
    }
    const samples = syntheticSamples(batch, featureSizeOf(config.model));
    await measureWorkload(workload, 'samples/s', batch, async (contender) => {
      switch (contender) {
        case 'gradmesh-pool-1': return gradmeshTrainer(config, samples, batch, { backend: 'pool', threads: 1 });
        case 'gradmesh-pool-all': return gradmeshTrainer(config, samples, batch, { backend: 'pool', threads });
        case 'gradmesh-native-1': return gradmeshTrainer(config, samples, batch, { backend: 'native', threads: 1 });
        case 'gradmesh-native-all': return gradmeshTrainer(config, samples, batch, { backend: 'native', threads });
        case 'gradmesh-reference': return gradmeshTrainer(config, samples, batch, { backend: 'reference' });
        case 'tfjs-wasm':
        case 'tfjs-cpu': return tfjsTrainer(await tfjsOn(runtime, contender), config, samples, batch);
      }
    });
  }

  let memory: BackendBenchReport['memory'] = null;
  if (options.memorySteps) {
    memory = await runMemoryCheck(options.configs.mlp, {
      steps: options.memorySteps,
      threads,
      onSample: (s: MemorySample) => progress(`memory: ${formatMemorySample(s)}`),
    });
  }

  const after = await probeCpuLoad();
  progress(`cpu load after: parallelCapacity ${after.parallelCapacity} (single ${after.singleMs} ms, dual ${after.dualMs} ms)`);
  const ratios = computeRatios(cells);
  return {
    kind: 'gradmesh.bench.backend/1',
    startedAt,
    wallSeconds: (performance.now() - started) / 1000,
    quick: options.quick,
    passes: PASSES,
    machine: {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      availableParallelism: os.availableParallelism(),
      totalMemoryBytes: os.totalmem(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    threads,
    tfjs: { version: runtime.version, wasmSimd: runtime.wasmSimd, wasmThreads: runtime.wasmThreads },
    conv2dBackpropFilter: { ...registration, check },
    native,
    cpuLoad: { before, after },
    rss: { peakBeforeBytes, peakAfterBytes: process.resourceUsage().maxRSS * 1024, currentAfterBytes: process.memoryUsage.rss() },
    results: cells,
    ratios,
    targets: checkTargets(ratios),
    memory,
  };
}

/** Whether native runs here, decided as a run decides it (the environment first, then load and self-check). */
async function nativeStatus(): Promise<NativeStatus> {
  const { nativeAvailabilityOnOwnMemory, nativeAddon } = await import('@gradmesh/shared/internal/pool');
  const native = nativeAvailabilityOnOwnMemory();
  if (!native.available) return native;
  const openblas = nativeAddon().config().split(' ').slice(0, 2).join(' ');
  return { available: true, coreName: native.coreName, coreTypeSet: native.coreTypeSet ?? null, selfCheckError: native.selfCheckError, openblas };
}

async function tfjsOn(runtime: TfjsRuntime, contender: 'tfjs-wasm' | 'tfjs-cpu'): Promise<TfjsRuntime['tf']> {
  await useTfjsBackend(runtime.tf, contender === 'tfjs-wasm' ? 'wasm' : 'cpu');
  return runtime.tf;
}
