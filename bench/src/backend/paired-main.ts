/**
 * Paired A/B measurements of the backends (Note [paired windows] in paired.ts), one process:
 *
 *   node bench/dist/backend/paired-main.js <gemm|mlp|cnn|bn> [rounds=8] [windowMs=700] [threads=2]
 *
 *   gemm  1024³ GEMM, pool vs native, one thread each          (ratio native ÷ pool)
 *   mlp   mnist-mlp, batch 64, pool vs native, `threads` each   (ratio native ÷ pool)
 *   cnn   mnist-cnn, batch 64, pool vs native, `threads` each   (ratio native ÷ pool)
 *   bn    mnist-cnn and mnist-cnn-bn, batch 64, both backends    (step time CNN-BN ÷ CNN per backend)
 *
 * Prints the cpu-probe reading before and after, each subject's median (min–max) and the ratios'
 * median (min–max) over the rounds, then the whole result as one JSON line.
 */
import { loadRunConfig, type RunConfig } from '@gradmesh/shared/internal';
import { fileURLToPath } from 'node:url';
import { probeCpuLoad } from './cpu-load.js';
import { poolGemm } from './gradmesh/gemm.js';
import { gradmeshTrainer } from './gradmesh/trainer.js';
import { measurePaired, pairedRatio, type PairedResult, type PairedSubject } from './paired.js';
import { featureSizeOf, syntheticSamples } from './synthetic.js';
import { formatRate } from './table.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url);
const GEMM_N = 1024;

function example(name: string): RunConfig {
  return loadRunConfig(fileURLToPath(new URL(`mnist-${name}.json`, EXAMPLES)));
}

async function trainer(label: string, config: RunConfig, backend: 'pool' | 'native', threads: number): Promise<PairedSubject> {
  const batch = 64;
  const t = await gradmeshTrainer(config, syntheticSamples(batch, featureSizeOf(config.model)), batch, { backend, threads });
  return { label, units: batch, step: () => t.step(), dispose: () => t.dispose() };
}

async function gemm(label: string, kernels: 'wasm' | 'native'): Promise<PairedSubject> {
  const g = await poolGemm(GEMM_N, 1, kernels);
  return { label, units: (2 * GEMM_N ** 3) / 1e9, step: () => g.run(), dispose: () => g.dispose() };
}

type Plan = { subjects: () => Promise<PairedSubject[]>; ratios: [string, string, string][] };

function plan(set: string, threads: number): Plan {
  switch (set) {
    case 'gemm':
      return { subjects: async () => [await gemm('pool-1', 'wasm'), await gemm('native-1', 'native')], ratios: [['native ÷ pool', 'native-1', 'pool-1']] };
    case 'mlp':
    case 'cnn': {
      const config = example(set);
      return {
        subjects: async () => [await trainer('pool', config, 'pool', threads), await trainer('native', config, 'native', threads)],
        ratios: [['native ÷ pool', 'native', 'pool']],
      };
    }
    case 'bn': {
      const cnn = example('cnn');
      const bn = example('cnn-bn');
      return {
        subjects: async () => [
          await trainer('pool cnn', cnn, 'pool', threads), await trainer('pool cnn-bn', bn, 'pool', threads),
          await trainer('native cnn', cnn, 'native', threads), await trainer('native cnn-bn', bn, 'native', threads),
        ],
        // Step time CNN-BN ÷ CNN = rate CNN ÷ rate CNN-BN.
        ratios: [['pool: CNN-BN step ÷ CNN step', 'pool cnn', 'pool cnn-bn'], ['native: CNN-BN step ÷ CNN step', 'native cnn', 'native cnn-bn']],
      };
    }
    default:
      throw new Error(`unknown set ${JSON.stringify(set)}: use gemm, mlp, cnn or bn`);
  }
}

async function main(): Promise<void> {
  const [set = 'cnn', rounds = '8', windowMs = '700', threads = '2'] = process.argv.slice(2);
  const p = plan(set, Number(threads));
  const before = await probeCpuLoad();
  console.log(`cpu-probe before: parallelCapacity ${before.parallelCapacity}`);
  const subjects = await p.subjects();
  let results: PairedResult[];
  try {
    results = await measurePaired(subjects, { rounds: Number(rounds), windowMs: Number(windowMs), warmupMs: 1500 });
  } finally {
    for (const s of subjects) await s.dispose();
  }
  const after = await probeCpuLoad();
  const unit = set === 'gemm' ? 'GFLOP/s' : 'samples/s';
  for (const r of results) console.log(`${r.label.padEnd(14)} ${formatRate(r.median)} ${unit} (${formatRate(r.min)}–${formatRate(r.max)})`);
  const byLabel = new Map(results.map((r) => [r.label, r]));
  const ratios = p.ratios.map(([name, a, b]) => ({ name, ...pairedRatio(byLabel.get(a)!, byLabel.get(b)!) }));
  for (const r of ratios) console.log(`${r.name}: ${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`);
  console.log(`cpu-probe after: parallelCapacity ${after.parallelCapacity}`);
  console.log(JSON.stringify({ set, rounds: Number(rounds), windowMs: Number(windowMs), threads: Number(threads), at: new Date().toISOString(), cpuLoad: { before, after }, results, ratios }));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
