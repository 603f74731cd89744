import os from 'node:os';
import path from 'node:path';
import { availableCpus, ConfigError, validateRunId, validateWorkerId } from '@gradmesh/shared/internal';
import { WorkerProcess } from '@gradmesh/worker';
import { redactUrl } from '@gradmesh/transport';
import { positiveInt, secondsFlag, type Command } from './args.js';
import { traceDirFlag, traceDirUsage, traceFileOf } from './trace-dir-flag.js';
import { DATA_LISTEN_OPTIONS, dataListenUsage, parseDataListenFlags } from './data-listen-flags.js';
import { DEFAULT_RUN_ID, exitSoon } from './coordinator-command.js';
import { watchLauncher } from './launch/parent-watch.js';
import { NATS_AUTH_OPTIONS, natsAuthUsage, natsCredentialsFrom } from './nats-auth-flags.js';
import { isQuiet, QUIET_OPTION, quietUsage } from './quiet-flag.js';
import { HEALTH_OPTIONS, healthUsage, parseHealthFlags } from './health/health-flags.js';
import { HealthServer } from './health/health-server.js';
import { createLogger, parseLogFormat } from './log/logger.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Join a cluster run over NATS as one data-parallel worker (rank assigned by the coordinator)',
  usage: `gradmesh worker --nats <url> [options]

Options:
  --nats <url>               NATS server of the run                                   (required)
  --run <id>                 run id, as given to the coordinator (default: ${DEFAULT_RUN_ID})
  --threads <n>              compute threads (default: the cores available, capped by the container's CPU
                             quota: cgroup cpu.max)
  --id <workerId>            unique worker id (default: <host>-<pid>); ranks go to ids in sorted order
  --join-timeout <s>         exit unless a coordinator assigns a rank within s seconds (default: 120)
  --heartbeat-timeout <s>    heartbeat timeout until the coordinator's assignment says otherwise (default: 10)
  --coordinator-grace <s>    exit when the coordinator is silent this long, at least the heartbeat timeout (default: 60)
  --checkpoint-dir <dir>     this machine's path of the run's checkpoint directory, for a coordinator
                             with --checkpoint-store dir:… (a worker never takes a path from the network)
${traceDirUsage(29, 'worker')}
${dataListenUsage(29)}
${healthUsage(29)}
  --log-format <text|json>   stderr lines as text (default) or one JSON object per line, for log collectors
${natsAuthUsage(29)}
${quietUsage(29)}

SIGTERM leaves the run gracefully after the command in flight (the run goes on with the other workers if
the coordinator's --workers MIN allows); SIGINT stops at once.
  --verbose                  stack traces on errors

Exit code: 0 when the run completed (or this worker was not needed), 1 when it failed or was stopped, 2 when
its data files or --threads do not fit the run (checked before it takes part).`,
  options: {
    nats: { type: 'string' },
    run: { type: 'string' },
    threads: { type: 'string' },
    id: { type: 'string' },
    'join-timeout': { type: 'string' },
    'heartbeat-timeout': { type: 'string' },
    'coordinator-grace': { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    'trace-dir': { type: 'string' },
    ...DATA_LISTEN_OPTIONS,
    ...HEALTH_OPTIONS,
    'log-format': { type: 'string' },
    ...NATS_AUTH_OPTIONS,
    ...QUIET_OPTION,
  },
  async run(values) {
    const logger = createLogger({ format: parseLogFormat(values['log-format'], '--log-format'), role: 'worker' });
    const natsUrl = values['nats'];
    if (typeof natsUrl !== 'string') throw new ConfigError('--nats', 'is required', { hint: 'the coordinator prints the URL it uses; e.g. --nats nats://127.0.0.1:4222' });
    const natsCredentials = natsCredentialsFrom(values);
    const runId = validateRunId(values['run'] ?? DEFAULT_RUN_ID, '--run');
    const workerId = validateWorkerId(values['id'] ?? defaultWorkerId(), '--id');
    // GRADMESH_THREADS arrives as --threads (Note [options from the environment] in args.ts).
    const threads = positiveInt(values['threads'], '--threads') ?? availableCpus();
    const healthAddress = parseHealthFlags(values);
    const dataListen = parseDataListenFlags(values);
    const traceDir = traceDirFlag(values['trace-dir']);
    const log = (line: string) => logger.info(line);
    const worker = new WorkerProcess({
      natsUrl,
      ...(natsCredentials ? { natsCredentials } : {}),
      runId,
      workerId,
      threads,
      joinTimeoutMs: secondsFlag(values['join-timeout'], '--join-timeout', 120),
      heartbeatTimeoutMs: secondsFlag(values['heartbeat-timeout'], '--heartbeat-timeout', 10),
      coordinatorGraceMs: secondsFlag(values['coordinator-grace'], '--coordinator-grace', 60),
      log,
      dataListen,
      ...(typeof values['checkpoint-dir'] === 'string' ? { checkpointDir: path.resolve(values['checkpoint-dir']) } : {}),
      ...(traceDir === undefined ? {} : { traceFile: traceFileOf(traceDir, workerId) }),
    });
    const onSignal = (signal: NodeJS.Signals) => worker.interrupt(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const unwatch = watchLauncher(() => worker.interrupt('the launcher\'s exit'));
    let health: HealthServer | undefined;
    try {
      health = healthAddress === undefined ? undefined : await HealthServer.start(healthAddress, () => worker.readiness);
      if (!isQuiet(values)) logger.info(`worker ${workerId}: joining run "${runId}" on ${redactUrl(natsUrl)} with ${threads} thread(s)`, { event: 'started', run: runId, worker: workerId, threads, ...(health ? { health: health.address } : {}) });
      const outcome = await worker.run();
      if (outcome.exitCode === 0) logger.info(outcome.reason, { event: 'exited', worker: workerId, exitCode: 0 });
      else logger.error(`gradmesh: ${outcome.reason}`, { event: 'exited', worker: workerId, exitCode: outcome.exitCode });
      return outcome.exitCode;
    } finally {
      await health?.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unwatch();
      exitSoon();
    }
  },
};

/** `<host>-<pid>`, reduced to the id alphabet (a NATS subject token). */
function defaultWorkerId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'worker';
  return `${host}-${process.pid}`;
}
