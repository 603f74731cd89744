import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBenchTable, formatMemoryCheck, formatMemorySample, runBackendBenchmark, runMemoryCheck } from '@gradmesh/bench';
import { ConfigError, loadRunConfig, writeJsonAtomic, type RunConfig } from '@gradmesh/shared/internal';
import { positiveInt, type Command } from './args.js';

/** The repository's examples/, two levels above cli/dist (and cli/src). */
const DEFAULT_EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const DEFAULT_MEMORY_STEPS = 10_000;

export const BENCH_BACKEND_USAGE = `gradmesh bench backend [--quick] [--json <out.json>] [--threads <n>] [--memory-steps <n>] [--examples <dir>]
gradmesh bench memory [--model <name>] [--memory-steps <n>] [--json <out.json>] [--threads <n>] [--examples <dir>]

backend: measures in one run, side by side, gradmesh (pool with 1 thread and with all threads,
reference) and TensorFlow.js (tfjs-backend-wasm with SIMD, tfjs-backend-cpu) on a 1024³ GEMM and on
training the MLP (batch 64 and 256), CNN and LSTM of examples/mnist-{mlp,cnn,lstm}.json with random
MNIST-shaped data: warm-up, then median (min–max) of several timed runs. Registers and checks a
Conv2DBackpropFilter kernel for tfjs-backend-wasm (it ships none). Prints a table; --json writes every
figure and the ratios (gradmesh pool all threads ÷ tfjs-wasm). A few minutes; --quick ≈ 1 minute.
memory: trains examples/mnist-<model>.json (default mlp; e.g. cnn, cnn-bn, lstm) for --memory-steps steps (default
${DEFAULT_MEMORY_STEPS.toLocaleString('en-US')}) on the pool backend and reports the RSS and the live heap every 1000 steps, each right after a
full garbage collection, and their slopes; exits 1 if the live heap or RSS outside the heap grows (V8's reserve
beyond the live heap is sized by the allocation rate, not by what is retained).

  --quick              short budgets; skips cells that take seconds per step
  --json <file>        write the report (JSON) here, atomically
  --threads <n>        "all threads" of the pool (default: the cores available, ${os.availableParallelism()} here)
  --memory-steps <n>   backend: also run the memory check over n steps; memory: the step count
  --model <name>       memory: the example to train, examples/mnist-<name>.json (default mlp)
  --examples <dir>     directory holding mnist-mlp.json, mnist-cnn.json, mnist-lstm.json`;

/** Options of `bench backend` / `bench memory`, to merge into the `bench` command's options. */
export const BENCH_BACKEND_OPTIONS = {
  quick: { type: 'boolean' },
  json: { type: 'string' },
  threads: { type: 'string' },
  'memory-steps': { type: 'string' },
  model: { type: 'string' },
  examples: { type: 'string' },
} as const satisfies Command['options'];

type Values = Record<string, unknown>;

function examplesDir(values: Values): string {
  const dir = values['examples'];
  return typeof dir === 'string' ? dir : DEFAULT_EXAMPLES;
}

/**
 * examples/mnist-<name>.json; the LSTM one is optional (the benchmark marks its row as not run). A missing file is
 * refused under `flag`: --examples when the benchmark's own example is missing, --model when the user named it.
 */
function exampleConfig(values: Values, name: string, optional: true): RunConfig | null;
function exampleConfig(values: Values, name: string, optional?: false, flag?: '--examples' | '--model'): RunConfig;
function exampleConfig(values: Values, name: string, optional = false, flag: '--examples' | '--model' = '--examples'): RunConfig | null {
  const dir = examplesDir(values);
  const file = path.join(dir, `mnist-${name}.json`);
  if (!existsSync(file)) {
    if (optional) return null;
    const known = existsSync(dir) ? readdirSync(dir).flatMap((f) => /^mnist-([a-z0-9-]+)\.json$/.exec(f)?.[1] ?? []) : [];
    if (flag === '--model') throw new ConfigError('--model', `no mnist-${name}.json in ${dir}`, { value: name, hint: `one of: ${known.join(', ') || 'none there (point --examples at the repository\'s examples/ directory)'}` });
    throw new ConfigError('--examples', `has no mnist-${name}.json`, { value: dir, hint: 'point --examples at the repository\'s examples/ directory' });
  }
  return loadRunConfig(file);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export async function benchBackend(values: Values): Promise<number> {
  const threads = positiveInt(values['threads'], '--threads');
  const memorySteps = positiveInt(values['memory-steps'], '--memory-steps');
  const json = values['json'];
  const report = await runBackendBenchmark({
    configs: { mlp: exampleConfig(values, 'mlp'), cnn: exampleConfig(values, 'cnn'), lstm: exampleConfig(values, 'lstm', true) },
    quick: values['quick'] === true,
    ...(threads ? { threads } : {}),
    ...(memorySteps ? { memorySteps } : {}),
    onProgress: log,
  });
  process.stdout.write(formatBenchTable(report));
  if (typeof json === 'string') {
    await writeJsonAtomic(json, report);
    log(`report written to ${json}`);
  }
  // A wrong fallback kernel would make every tfjs-wasm CNN figure meaningless.
  return report.conv2dBackpropFilter.check.passed ? 0 : 1;
}

export async function benchMemory(values: Values): Promise<number> {
  const threads = positiveInt(values['threads'], '--threads') ?? os.availableParallelism();
  const steps = positiveInt(values['memory-steps'], '--memory-steps') ?? DEFAULT_MEMORY_STEPS;
  const json = values['json'];
  const model = values['model'] ?? 'mlp';
  if (typeof model !== 'string' || !/^[a-z0-9-]+$/.test(model)) throw new ConfigError('--model', 'must name an example: mnist-<name>.json (lower-case letters, digits, dashes)', { value: model, hint: 'e.g. --model cnn-bn' });
  const check = await runMemoryCheck(exampleConfig(values, model, false, '--model'), {
    steps,
    threads,
    onSample: (s) => log(formatMemorySample(s)),
  });
  process.stdout.write(`${formatMemoryCheck(check)}\n`);
  if (typeof json === 'string') {
    await writeJsonAtomic(json, { kind: 'gradmesh.bench.memory/1', ...check });
    log(`report written to ${json}`);
  }
  return check.grows ? 1 : 0;
}

/**
 * `gradmesh bench backend|memory` as a Command of its own. The CLI's `bench` command
 * (bench-command.ts) can dispatch `backend` and `memory` to benchBackend / benchMemory instead,
 * merging BENCH_BACKEND_OPTIONS into its options.
 */
export const benchBackendCommand: Command = {
  name: 'bench',
  summary: 'Benchmarks: `bench backend` (kernels and training vs TensorFlow.js), `bench memory` (RSS over 10,000 steps)',
  usage: BENCH_BACKEND_USAGE,
  options: BENCH_BACKEND_OPTIONS,
  async run(values, positionals) {
    const what = positionals[0];
    if (what === 'backend') return benchBackend(values);
    if (what === 'memory') return benchMemory(values);
    throw new ConfigError('gradmesh bench', 'needs what to measure: backend or memory', { value: what ?? null });
  },
};
