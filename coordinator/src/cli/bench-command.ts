import { ConfigError } from '@gradmesh/shared/internal';
import type { Command } from './args.js';
import { BENCH_ALLREDUCE_USAGE, benchAllreduce } from './bench-allreduce.js';

/** `gradmesh bench <what>`: benchmarks that print figures (speed is never asserted in tests). */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'Benchmarks: `bench allreduce` (NATS collective), `bench backend` (kernels and training vs TensorFlow.js)',
  usage: `gradmesh bench <allreduce|backend> [options]

${BENCH_ALLREDUCE_USAGE}`,
  options: {
    workers: { type: 'string' },
    mb: { type: 'string' },
    repeats: { type: 'string' },
    nats: { type: 'string' },
    'nats-server': { type: 'string' },
    json: { type: 'string' },
  },
  async run(values, positionals) {
    const what = positionals[0];
    if (what === 'allreduce') return benchAllreduce(values);
    throw new ConfigError('gradmesh bench', 'needs what to measure: allreduce or backend', { value: what ?? null });
  },
};
