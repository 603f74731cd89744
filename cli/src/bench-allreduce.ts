import { ConfigError } from '@gradmesh/shared/internal';
import { runAllreduceBench } from '@gradmesh/bench';
import { intList, positiveInt } from './args.js';

export const BENCH_ALLREDUCE_USAGE = `gradmesh bench allreduce [--workers 2,3,4] [--mb 0.437,4,40] [--compression none,bf16,fp16] [--transport nats,direct,shm] [--repeats 5] [--steps 300] [--nats <url>] [--json <out.json>]

Measures, in one run, the single-stream NATS bandwidth (one publisher process → one subscriber process,
1 MB messages) and the reduce-scatter + all-gather all-reduce time for each worker count and size, with
each worker a separate process. Prints time, algbw, busbw = 2(N−1)/N·bytes/time and busbw/single-stream.
Sizes ≤ 1 MB are latency-bound: for them it prints the median of --steps back-to-back all-reduces next to
the median round trip of the same size between two processes (measured just before) and the ratio.
--compression measures the half-width wire encodings too (training.allreduce.compression; bytes counted as float32).
--transport direct measures pieces over direct links between the ranks too (training.allreduce.transport; rows
marked +L), with the links' own single stream and CPU ceiling; shm the same links with pieces through shared
memory, as workers on one host run by default (rows marked +M), against the links' ceiling and the memory ceiling.
Starts its own nats-server on 127.0.0.1 unless --nats is given.`;

export async function benchAllreduce(values: Record<string, unknown>): Promise<number> {
  const mb = typeof values['mb'] === 'string' ? values['mb'].split(',').map(Number) : [0.437, 4, 40];
  if (mb.some((v) => !(v > 0))) throw new ConfigError('--mb', 'must be a comma-separated list of sizes in MB', { value: values['mb'] });
  const repeats = positiveInt(values['repeats'], '--repeats');
  const latencySteps = positiveInt(values['steps'], '--steps');
  const compression = typeof values['compression'] === 'string' ? values['compression'].split(',') : ['none'];
  for (const c of compression) if (c !== 'none' && c !== 'bf16' && c !== 'fp16') throw new ConfigError('--compression', 'must be a comma-separated list of none, bf16, fp16', { value: values['compression'] });
  const transport = typeof values['transport'] === 'string' ? values['transport'].split(',') : ['nats'];
  for (const t of transport) if (t !== 'nats' && t !== 'direct' && t !== 'shm') throw new ConfigError('--transport', 'must be a comma-separated list of nats, direct, shm', { value: values['transport'] });
  await runAllreduceBench({
    workers: intList(values['workers'], '--workers') ?? [2, 3, 4],
    mb,
    ...(typeof values['nats'] === 'string' ? { natsUrl: values['nats'] } : {}),
    ...(typeof values['nats-server'] === 'string' ? { natsServer: values['nats-server'] } : {}),
    ...(repeats ? { repeats } : {}),
    ...(latencySteps ? { latencySteps } : {}),
    compression: compression as ('none' | 'bf16' | 'fp16')[],
    transport: transport as ('nats' | 'direct' | 'shm')[],
    ...(typeof values['json'] === 'string' ? { json: values['json'] } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}
