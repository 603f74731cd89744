import { runClusterBench } from '@gradmesh/bench';
import { ConfigError } from '@gradmesh/shared/internal';
import { positiveInt } from './args.js';

export const BENCH_CLUSTER_USAGE = `gradmesh bench cluster --config <file> [--workers 2] [--steps 100] [--warmup 20] [--repeats 3] [--cpu-bind cores|none] [--json <out.json>]

The cost of \`launch\` on one machine: runs \`gradmesh train\` (N pool threads) and \`gradmesh launch --workers N\`
(1 thread each, over a local nats-server) on the same config, and a no-communication reference: N independent
\`train --threads 1\` processes side by side, each with one rank's share of the batch (--batch-size). The three
alternate, each for --steps steps after --warmup steps (timed per step with --step-timings, so start-up is left
out), and it prints samples/s of each (median, min, max; the independent processes' summed), launch ÷ train,
launch ÷ independent (what the all-reduce, the coordinator and the lock-step cost), independent ÷ train (what
the process layout alone costs) and the machine's load before and after. On Linux it also prints the CPU
ms per measured step of each kind of process (train; launch's workers, nats-server, coordinator, launcher), and
how much of it their main threads spent (the rest is the compute threads and V8's helpers). --cpu-bind is
launch's (default cores: each worker on its own block of cores); the independent processes are bound the same
way, train never.`;

export async function benchCluster(values: Record<string, unknown>): Promise<number> {
  const config = values['config'];
  if (typeof config !== 'string') throw new ConfigError('--config', 'is required', { hint: 'e.g. gradmesh bench cluster --config examples/mnist-cnn.json' });
  await runClusterBench({
    cli: process.argv[1] as string,
    config,
    workers: positiveInt(values['workers'], '--workers') ?? 2,
    steps: positiveInt(values['steps'], '--steps') ?? 100,
    warmup: positiveInt(values['warmup'], '--warmup') ?? 20,
    repeats: positiveInt(values['repeats'], '--repeats') ?? 3,
    cpuBind: cpuBindFlag(values['cpu-bind']),
    ...(typeof values['json'] === 'string' ? { json: values['json'] } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}

function cpuBindFlag(value: unknown): 'cores' | 'none' {
  if (value === undefined) return 'cores';
  if (value !== 'cores' && value !== 'none') throw new ConfigError('--cpu-bind', 'must be cores or none', { value: String(value) });
  return value;
}
