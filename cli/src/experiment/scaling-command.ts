import { ConfigError, loadRunConfig } from '@gradmesh/shared/internal';
import { resolveNatsServer } from '@gradmesh/transport';
import { parseLink, Topology } from '@gradmesh/experiment';
import { intList, nonNegativeInt, positiveInt, type Command } from '../args.js';
import { runScaling } from './scaling-runner.js';

export const scalingCommand: Command = {
  name: 'scaling',
  summary: 'Measure throughput and the step-time split for N workers on emulated hosts and links (or loopback)',
  usage: `gradmesh experiment scaling --config <file.json> --workers 1,2,4 --out <dir> [options]

For every topology and worker count runs the real cluster (nats-server(s), a coordinator, N workers), lets it
take --warmup steps, measures the next --steps, and writes <dir>/results.json (samples/s, step time split into
compute / all-reduce / wait as median and p90, bytes per host link, CPU seconds per role, load) and
<dir>/results.md (the table, and the bytes per link against the topology formulas). Process output goes to
<dir>/logs/. As root every worker and every nats-server gets a host of its own: a network namespace with a
veth to a bridge (in a namespace of its own), shaped to --link with tc tbf; the root namespace routes
10.77.0.0/16 to unreachable while they exist; everything is removed at the end, on failure and on Ctrl-C.
Without root it says so and runs on loopback (links unshaped, bytes from NATS monitoring).

Options:
  --config <file>            run config (see examples/*.json)                        (required)
  --workers <list>           worker counts, e.g. 1,2,4                               (required)
  --out <dir>                where results.json, results.md and logs/ go             (required)
  --topology <list>          hub (one nats-server on a host of its own) and/or per-host (one nats-server per
                             worker host, clustered by routes) (default: hub)
  --link <rate[,delay]>      each host link, e.g. 1gbit, 100mbit,2ms or unshaped (default: 1gbit); the delay is
                             recorded for the simulator only (no netem in this kernel)
  --network <how>            auto (namespaces when root, else loopback), netns or loopback (default: auto)
  --steps <k>                measured steps per combination (default: 50)
  --warmup <w>               steps before measuring (default: 10)
  --threads <n>              compute threads per worker (default: max(1, cores / N))
  --nats-server <path>       nats-server binary (default: GRADMESH_NATS_SERVER, else nats-server on PATH)`,
  options: {
    config: { type: 'string' },
    workers: { type: 'string' },
    out: { type: 'string' },
    topology: { type: 'string' },
    link: { type: 'string' },
    network: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    threads: { type: 'string' },
    'nats-server': { type: 'string' },
  },
  async run(values) {
    const configPath = values['config'];
    if (typeof configPath !== 'string') throw new ConfigError('--config', 'is required', { hint: 'e.g. --config examples/mnist-mlp.json' });
    loadRunConfig(configPath);
    const workers = intList(values['workers'], '--workers');
    if (workers === undefined) throw new ConfigError('--workers', 'is required', { hint: 'e.g. --workers 1,2,4' });
    const out = values['out'];
    if (typeof out !== 'string') throw new ConfigError('--out', 'is required', { hint: 'e.g. --out reports/scaling/mlp' });
    const topologies = ((values['topology'] as string | undefined) ?? 'hub').split(',').map((t) => {
      const parsed = Topology.safeParse(t);
      if (!parsed.success) throw new ConfigError('--topology', 'must be hub, per-host or both (comma-separated)', { value: t });
      return parsed.data;
    });
    const network = (values['network'] as string | undefined) ?? 'auto';
    if (network !== 'auto' && network !== 'netns' && network !== 'loopback') throw new ConfigError('--network', 'must be auto, netns or loopback', { value: network });
    const steps = positiveInt(values['steps'], '--steps') ?? 50;
    const warmup = values['warmup'] === undefined ? 10 : nonNegativeInt(values['warmup'], '--warmup');
    const threads = positiveInt(values['threads'], '--threads');
    return runScaling({
      configPath,
      workers: [...new Set(workers)],
      topologies: [...new Set(topologies)],
      link: parseLink((values['link'] as string | undefined) ?? '1gbit'),
      network,
      warmupSteps: warmup,
      steps,
      ...(threads === undefined ? {} : { threads }),
      natsServer: resolveNatsServer(values['nats-server'] as string | undefined),
      outDir: out,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  },
};
