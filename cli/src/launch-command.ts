import path from 'node:path';
import { traceDirFlag, traceDirUsage } from './trace-dir-flag.js';
import { checkpointStoreFromFlags, ConfigError, describeStoreSpec, loadRunConfig, preflightRun, validateRunId } from '@gradmesh/shared/internal';
import { defaultThreads, launch, launchRunId } from './launch/launcher.js';
import { nonNegativeInt, positiveInt, secondsFlag, workerRange, type Command } from './args.js';
import { freePort } from './launch/free-port.js';
import { urlOf } from '@gradmesh/dashboard';
import { parseWatchFlags, WATCH_OPTIONS, watchUsage } from './watch-flags.js';
import { NATS_AUTH_OPTIONS, natsAuthUsage, natsCredentialsFrom } from './nats-auth-flags.js';
import { isQuiet, QUIET_OPTION, quietUsage } from './quiet-flag.js';

export const launchCommand: Command = {
  name: 'launch',
  summary: 'Train on this machine with N worker processes over a local NATS (starts nats-server, a coordinator and the workers)',
  usage: `gradmesh launch --config <file.json> --workers <n> [options]

Starts nats-server with JetStream on 127.0.0.1 (a free port; its store in a temporary directory removed at
the end), a coordinator and N workers as separate processes, shows their output, and stops everything it
started on completion, failure, Ctrl-C or its own death (kill -9). The exit code is the coordinator's.

Options:
  --config <file>            run config (see examples/*.json)                        (required)
  --workers <n|min:max>      worker processes to start (MAX); with MIN:MAX the run goes on while at least MIN
                             remain (elastic generations)                             (required)
  --max-restarts <k>         start a replacement for a worker process that died, at most k times (default: 0)
  --nats <url>               use this NATS server instead of starting one
  --nats-server <path>       nats-server binary (default: GRADMESH_NATS_SERVER, else nats-server on PATH)
  --topology <t>             hub (default): one local nats-server; per-host: one nats-server per worker,
                             clustered by routes, each worker connected to its own (no JetStream: no nats
                             checkpoint store)
  --insecure                 start the local nats-server without authorization (by default it gets fresh
                             users for this run: the coordinator's and one per worker, each allowed only its
                             own subjects; their passwords reach the children in the environment)
${natsAuthUsage(29)}
                             (with --nats: the identity of the coordinator and the workers)
${quietUsage(29)}
                             (passed on to the coordinator and the workers)
  --threads <n>              compute threads per worker (default: max(1, cores / n))
  --cpu-bind <cores|none>    cores (default): bind each worker to its own block of the allowed CPUs (whole
                             cores, with taskset) when workers × threads fit in them, so the ranks stay in
                             step; none: let the scheduler move them
  --report <out.json>        write the run report (JSON) here, atomically, at the end (status "completed",
                             or status "failed" and the error)
  --checkpoint-store <s>     checkpoint at every epoch end (and every training.checkpointEverySteps) into
                             nats (the run's JetStream bucket; with launch's own server it lives as long as
                             the launch — give --nats <url> to keep it) or dir:<path>
  --checkpoint-dir <dir>     short for --checkpoint-store dir:<dir>
  --resume                   continue from the newest verified checkpoint (same --run for nats)
  --resume-from <file>       continue from this checkpoint file (copied into the run's store)
  --epochs <n>               override training.epochs
  --max-steps <n>            stop after n optimizer steps (with a checkpoint there; launch prints how to resume)
  --step-timings <file>      the coordinator appends each step's timing (one JSON line per step; read by
                             \`gradmesh bench cluster\`)
${traceDirUsage(29, 'launch')}
  --max-skipped <n>          passed to the coordinator: stop after n consecutive steps skipped for a
                             non-finite gradient (default: 5; 0 = never stop)
  --run <id>                 run id (default: a fresh one)
  --join-timeout <s>         passed to the coordinator (default: 60)
  --heartbeat-timeout <s>    passed to the coordinator and the workers (default: 10)
  --step-timeout <s>         passed to the coordinator (default: 30)
  --eval-timeout <s>         passed to the coordinator (default: 4 × the step timeout)
  --rejoin-timeout <s>       passed to the coordinator: below MIN workers, how long to wait (default: 60)
  --checkpoint-timeout <s>   passed to the coordinator (default: 4 × the step timeout)
  --checksum-every <k>       passed to the coordinator (default: 50)
${watchUsage(29)}
                             (passed to the coordinator; launch prints the dashboard's URL)
  --verbose                  stack traces on errors

nats-server: apt-get install nats-server (Debian/Ubuntu), or a release binary from
https://github.com/nats-io/nats-server/releases given with --nats-server.`,
  options: {
    config: { type: 'string' },
    workers: { type: 'string' },
    'max-restarts': { type: 'string' },
    nats: { type: 'string' },
    'nats-server': { type: 'string' },
    threads: { type: 'string' },
    'cpu-bind': { type: 'string' },
    report: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    'checkpoint-store': { type: 'string' },
    'trace-dir': { type: 'string' },
    resume: { type: 'boolean' },
    'resume-from': { type: 'string' },
    epochs: { type: 'string' },
    'max-steps': { type: 'string' },
    'step-timings': { type: 'string' },
    'max-skipped': { type: 'string' },
    run: { type: 'string' },
    'join-timeout': { type: 'string' },
    'heartbeat-timeout': { type: 'string' },
    'step-timeout': { type: 'string' },
    'eval-timeout': { type: 'string' },
    'rejoin-timeout': { type: 'string' },
    'checkpoint-timeout': { type: 'string' },
    'checksum-every': { type: 'string' },
    ...WATCH_OPTIONS,
    ...NATS_AUTH_OPTIONS,
    insecure: { type: 'boolean' },
    topology: { type: 'string' },
    ...QUIET_OPTION,
  },
  async run(values) {
    const configPath = values['config'];
    if (typeof configPath !== 'string') throw new ConfigError('--config', 'is required', { hint: 'e.g. gradmesh launch --config examples/mnist-cnn.json --workers 2' });
    const config = loadRunConfig(configPath); // bad input fails here, in one line, before anything is started
    const credentials = natsCredentialsFrom(values);
    if (credentials !== undefined && values['nats'] === undefined) {
      throw new ConfigError('--nats-creds', 'and the other credentials flags are for an external server given with --nats', { hint: "launch's own nats-server makes fresh credentials for each run" });
    }
    if (values['insecure'] && values['nats'] !== undefined) throw new ConfigError('--insecure', 'is for launch\'s own nats-server; an external --nats server decides its own authorization');
    const topology = (values['topology'] as string | undefined) ?? 'hub';
    if (topology !== 'hub' && topology !== 'per-host') throw new ConfigError('--topology', 'must be hub or per-host', { value: topology });
    if (topology === 'per-host' && values['nats'] !== undefined) throw new ConfigError('--topology', 'per-host is for launch\'s own servers; an external --nats server is what it is');
    const range = workerRange(values['workers'], '--workers');
    if (range === undefined) throw new ConfigError('--workers', 'is required', { hint: 'e.g. --workers 2, or --workers 2:3 (elastic)' });
    const workers = range.max;
    const maxRestarts = values['max-restarts'] === undefined ? 0 : nonNegativeInt(values['max-restarts'], '--max-restarts');
    const threads = positiveInt(values['threads'], '--threads') ?? defaultThreads(workers);
    const cpuBind = (values['cpu-bind'] as string | undefined) ?? 'cores';
    if (cpuBind !== 'cores' && cpuBind !== 'none') throw new ConfigError('--cpu-bind', 'must be cores or none', { value: cpuBind });
    const store = checkpointStoreFromFlags(values['checkpoint-store'] as string | undefined, values['checkpoint-dir'] as string | undefined) ?? (values['resume'] || values['resume-from'] !== undefined ? { kind: 'nats' as const } : undefined);
    if (values['resume'] && store?.kind === 'nats' && (values['nats'] === undefined || values['run'] === undefined)) {
      throw new ConfigError('--resume', 'with the nats checkpoint store needs --nats <url> and --run <id> of the run that wrote the checkpoints', {
        hint: "launch's own nats-server starts empty and a fresh run id names a fresh bucket; or use --checkpoint-dir",
      });
    }
    if (topology === 'per-host' && store?.kind === 'nats') {
      throw new ConfigError('--topology', 'per-host runs its servers without JetStream, so the nats checkpoint store is unavailable', { hint: 'use --checkpoint-dir <dir>, or the hub topology' });
    }
    const runId = validateRunId(values['run'] ?? launchRunId(), '--run');
    // The whole run (data files, model against data, paths, threads, memory) is checked before any process
    // starts: a mistake found by the coordinator after nats-server and the workers are up costs a cluster start.
    preflightRun({
      config, threads: { value: threads, flag: values['threads'] === undefined ? 'the default threads per worker' : '--threads' }, world: range.min,
      ...(typeof values['report'] === 'string' ? { report: { path: values['report'], flag: '--report' } } : {}),
      ...(store?.kind === 'dir' ? { checkpointDir: { path: store.dir, flag: values['checkpoint-dir'] === undefined ? '--checkpoint-store' : '--checkpoint-dir' } } : {}),
    });
    // Validate the pass-through durations here too, so a typo fails before any process starts.
    for (const flag of ['join-timeout', 'heartbeat-timeout', 'step-timeout', 'eval-timeout', 'checkpoint-timeout', 'rejoin-timeout'] as const) if (values[flag] !== undefined) secondsFlag(values[flag], `--${flag}`, 1);
    if (values['checksum-every'] !== undefined) positiveInt(values['checksum-every'], '--checksum-every');
    if (values['max-skipped'] !== undefined) nonNegativeInt(values['max-skipped'], '--max-skipped');
    const coordinatorArgs: string[] = [];
    const pass = (flag: string, value: unknown, resolvePath = false) => {
      if (typeof value === 'string') coordinatorArgs.push(`--${flag}`, resolvePath ? path.resolve(value) : value);
    };
    pass('report', values['report'], true);
    if (store !== undefined) coordinatorArgs.push('--checkpoint-store', describeStoreSpec(store));
    if (values['resume']) coordinatorArgs.push('--resume');
    pass('resume-from', values['resume-from'], true);
    pass('epochs', values['epochs']);
    pass('max-steps', values['max-steps']);
    pass('step-timings', values['step-timings'], true);
    pass('max-skipped', values['max-skipped']);
    pass('join-timeout', values['join-timeout']);
    pass('heartbeat-timeout', values['heartbeat-timeout']);
    pass('step-timeout', values['step-timeout']);
    pass('eval-timeout', values['eval-timeout']);
    pass('rejoin-timeout', values['rejoin-timeout']);
    pass('checkpoint-timeout', values['checkpoint-timeout']);
    pass('checksum-every', values['checksum-every']);
    if (values['verbose']) coordinatorArgs.push('--verbose');
    if (isQuiet(values)) coordinatorArgs.push('--quiet');
    // Port 0 is resolved here, so launch can print the URL before the coordinator starts serving it.
    const watch = parseWatchFlags(values);
    for (const [flag, address] of [['dashboard', watch.dashboard], ['metrics', watch.metrics]] as const) {
      if (address === undefined) continue;
      const port = address.port === 0 ? await freePort(address.host) : address.port;
      coordinatorArgs.push(`--${flag}`, `${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}`);
      process.stderr.write(`launch: ${flag} at ${urlOf({ host: address.host, port }, flag === 'metrics' ? '/metrics' : '/')}\n`);
    }
    pass('dashboard-linger', values['dashboard-linger']);
    pass('dashboard-queue', values['dashboard-queue']);
    const workerArgs = typeof values['heartbeat-timeout'] === 'string' ? ['--heartbeat-timeout', values['heartbeat-timeout']] : [];
    // A worker takes its directory from its command line, never from the network (Note [the store is the worker's]).
    if (store?.kind === 'dir') workerArgs.push('--checkpoint-dir', store.dir);
    // Note [a checkpoint at every stop]: how to continue this launch where it stops; a nats store on launch's own server ends with it.
    const ownServer = values['nats'] === undefined;
    const resumeArgs = store === undefined || (store.kind === 'nats' && ownServer) ? undefined : [
      'launch', '--config', configPath, '--workers', String(values['workers']),
      ...(store.kind === 'nats' ? ['--nats', String(values['nats']), '--run', runId] : []),
      ...(typeof values['epochs'] === 'string' ? ['--epochs', values['epochs']] : []),
      '--checkpoint-store', describeStoreSpec(store), '--resume',
    ];
    if (isQuiet(values)) workerArgs.push('--quiet');
    const traceDir = traceDirFlag(values['trace-dir']);
    if (traceDir !== undefined) workerArgs.push('--trace-dir', traceDir);
    return launch({
      configPath: path.resolve(configPath),
      ...(resumeArgs === undefined ? {} : { resumeArgs }),
      notResumable: store === undefined ? 'no checkpoint store was set (--checkpoint-dir or --checkpoint-store)' : 'the checkpoint was in the bucket of launch\'s own nats-server, which stopped with the launch; use --checkpoint-dir, or --nats <url> with a server that keeps it',
      workers,
      minWorkers: range.min,
      maxRestarts,
      threads,
      cpuBind,
      runId,
      coordinatorArgs,
      workerArgs,
      ...(typeof values['report'] === 'string' ? { reportPath: path.resolve(values['report']) } : {}),
      ...(typeof values['nats'] === 'string' ? { natsUrl: values['nats'] } : {}),
      ...(typeof values['nats-server'] === 'string' ? { natsServer: values['nats-server'] } : {}),
      ...(credentials ? { credentials } : {}),
      ...(values['insecure'] ? { insecure: true } : {}),
      topology,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  },
};
