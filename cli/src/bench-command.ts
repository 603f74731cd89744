import { ConfigError } from '@gradmesh/shared/internal';
import type { Command } from './args.js';
import { BENCH_ALLREDUCE_USAGE, benchAllreduce } from './bench-allreduce.js';
import { BENCH_CLUSTER_USAGE, benchCluster } from './bench-cluster.js';
import { BENCH_BACKEND_OPTIONS, BENCH_BACKEND_USAGE, benchBackend, benchMemory } from './bench-backend.js';

/** `gradmesh bench <what>`: benchmarks that print figures (speed is never asserted in tests). */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'Benchmarks: `bench backend` (kernels and training vs TensorFlow.js), `bench memory`, `bench allreduce` (NATS collective), `bench cluster` (launch vs train on one machine)',
  usage: `gradmesh bench <backend|memory|allreduce|cluster> [options]

${BENCH_ALLREDUCE_USAGE}

${BENCH_CLUSTER_USAGE}

${BENCH_BACKEND_USAGE}`,
  options: {
    workers: { type: 'string' },
    mb: { type: 'string' },
    repeats: { type: 'string' },
    compression: { type: 'string' },
    transport: { type: 'string' },
    config: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    'cpu-bind': { type: 'string' },
    nats: { type: 'string' },
    'nats-server': { type: 'string' },
    ...BENCH_BACKEND_OPTIONS,
  },
  async run(values, positionals) {
    const what = positionals[0];
    if (what === 'allreduce') return benchAllreduce(values);
    if (what === 'backend') return benchBackend(values);
    if (what === 'memory') return benchMemory(values);
    if (what === 'cluster') return benchCluster(values);
    throw new ConfigError('gradmesh bench', 'needs what to measure: backend, memory, allreduce or cluster', { value: what ?? null });
  },
};
