import { checkpointStoreFromFlags, ConfigError, describeStoreSpec, loadRunConfig, preflightRun, validateRunId, type RunConfig, type RunReport } from '@gradmesh/shared/internal';
import { Coordinator, RunInterrupted, type InterruptedAt } from '@gradmesh/coordinator';
import { describeCredentials, redactUrl } from '@gradmesh/transport';
import { RunFeed, type RunWatch } from '@gradmesh/dashboard';
import { nonNegativeInt, positiveInt, secondsFlag, workerRange, type Command } from './args.js';
import { clusterReport } from './cluster-report.js';
import { describeError, writeFailedReport } from './failed-report.js';
import { watchLauncher } from './launch/parent-watch.js';
import { linkSecretInTheClear } from './link-secret-check.js';
import { NATS_AUTH_OPTIONS, natsAuthUsage, natsCredentialsFrom } from './nats-auth-flags.js';
import { progressReporter } from './progress.js';
import { isQuiet, QUIET_OPTION, quietUsage } from './quiet-flag.js';
import { HEALTH_OPTIONS, healthUsage, parseHealthFlags } from './health/health-flags.js';
import { HealthServer } from './health/health-server.js';
import { createLogger, parseLogFormat } from './log/logger.js';
import { finishRun, printResult } from './run-summary.js';
import { parseWatchFlags, WATCH_OPTIONS, watchUsage } from './watch-flags.js';
import { startWatching, stopWatching } from './watching.js';
import { modelSummaryOf } from './model-summary.js';
import { withStepTimings } from './step-timings-file.js';
import { reportStopToLauncher } from './launch/stop-report.js';
import { commandLine, stopMessage } from './stop-message.js';

export const DEFAULT_RUN_ID = 'default';

export const coordinatorCommand: Command = {
  name: 'coordinator',
  summary: 'Own a cluster run: assign ranks to workers over NATS, drive synchronized steps, evaluate, checkpoint, report',
  usage: `gradmesh coordinator --nats <url> --config <file.json> [options]

Workers (gradmesh worker --nats <url> --run <id>) may start before or after the coordinator.

Options:
  --nats <url>               NATS server, e.g. nats://127.0.0.1:4222                 (required)
  --config <file>            run config (see examples/*.json)                        (required)
  --run <id>                 run id; subjects are gradmesh.<id>.…  (default: ${DEFAULT_RUN_ID})
  --workers <n|min:max>      world size N, or elastic MIN:MAX: a generation takes up to MAX workers (ranks go
                             to ids in sorted order) and the run goes on while at least MIN remain (default: 1)
  --rejoin-timeout <s>       below MIN workers, wait this long for replacements before stopping (default: 60)
  --checkpoint-store <s>     where rank 0 writes a checkpoint at every epoch end (and every
                             training.checkpointEverySteps): nats = the run's JetStream Object Store bucket
                             gradmesh-<run>-checkpoints (keeps the last 3), dir:<path> = a directory that
                             every worker is also given with --checkpoint-dir
  --checkpoint-dir <dir>     short for --checkpoint-store dir:<dir>
  --resume                   continue from the newest verified checkpoint of the store (same --run);
                             without a store option: --checkpoint-store nats. Refused when it is another
                             model's or data set's; other config changes are listed. A fresh run refuses a
                             store that holds checkpoints
  --resume-from <file>       continue from this checkpoint file (copied into the store, where the workers
                             read it); without a store option: --checkpoint-store nats
  --report <out.json>        write the run report (JSON) here, atomically, at the end
                             (status "completed", or status "failed" and the error)
  --epochs <n>               override training.epochs
  --max-steps <n>            stop after n optimizer steps (with a checkpoint there when a store is set)
  --max-skipped <n>          stop after n consecutive steps skipped for a non-finite gradient
                             (default: 5; 0 = never stop)
  --join-timeout <s>         fail unless N workers joined and are ready within s seconds (default: 60)
  --heartbeat-timeout <s>    a worker silent this long is dead or stalled (default: 10)
  --step-timeout <s>         ranks that do not answer a step within s are counted as lost (default: 30)
  --eval-timeout <s>         the same for an evaluation (default: 4 × the step timeout)
  --checkpoint-timeout <s>   the same for rank 0's checkpoint write (default: 4 × the step timeout)
  --checksum-every <k>       compare the replicas' parameter checksums every k steps and at the end (default: 50)
  --step-timings <file>      append each step's timing (wall time and every rank's compute / all-reduce / wait,
                             one JSON object per line) to this file as the step completes (for
                             \`gradmesh experiment scaling\`)
${healthUsage(29)}
  --log-format <text|json>   stderr lines as text (default) or one JSON object per line, for log collectors
${watchUsage(29)}
${natsAuthUsage(29)}
${quietUsage(29)}
  --verbose                  stack traces on errors

The coordinator answers \`gradmesh status --nats <url> --run <id>\` while the run is on.

SIGTERM or SIGINT (a pod being stopped, Ctrl-C) stops the run gracefully: with a checkpoint store it finishes
the step in flight, writes a checkpoint of it, tells the workers to stop, and exits 1 (the run is not complete:
continue it with --resume); a second signal, or a run without a store, stops at once.

Exit code: 0 when the run completed, 1 when it failed or was stopped (the error names the worker, rank, step and reason), 2 on bad input.`,
  options: {
    nats: { type: 'string' },
    config: { type: 'string' },
    run: { type: 'string' },
    workers: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    'checkpoint-store': { type: 'string' },
    resume: { type: 'boolean' },
    'resume-from': { type: 'string' },
    report: { type: 'string' },
    epochs: { type: 'string' },
    'max-steps': { type: 'string' },
    'max-skipped': { type: 'string' },
    'join-timeout': { type: 'string' },
    'rejoin-timeout': { type: 'string' },
    'heartbeat-timeout': { type: 'string' },
    'step-timeout': { type: 'string' },
    'eval-timeout': { type: 'string' },
    'checkpoint-timeout': { type: 'string' },
    'checksum-every': { type: 'string' },
    'step-timings': { type: 'string' },
    ...HEALTH_OPTIONS,
    'log-format': { type: 'string' },
    ...WATCH_OPTIONS,
    ...NATS_AUTH_OPTIONS,
    ...QUIET_OPTION,
  },
  async run(values) {
    const log = createLogger({ format: parseLogFormat(values['log-format'], '--log-format'), role: 'coordinator' });
    const natsUrl = values['nats'];
    if (typeof natsUrl !== 'string') throw new ConfigError('--nats', 'is required', { hint: 'e.g. --nats nats://127.0.0.1:4222, or use gradmesh launch, which starts one' });
    const natsCredentials = natsCredentialsFrom(values);
    const configPath = values['config'];
    if (typeof configPath !== 'string') throw new ConfigError('--config', 'is required', { hint: 'e.g. --config examples/mnist-cnn.json' });
    let config: RunConfig = loadRunConfig(configPath);
    const epochs = positiveInt(values['epochs'], '--epochs');
    if (epochs !== undefined) config = { ...config, training: { ...config.training, epochs }, raw: { ...config.raw, training: { ...(config.raw['training'] as object), epochs } } };
    const runId = validateRunId(values['run'] ?? DEFAULT_RUN_ID, '--run');
    // A cluster needs no shared file system: a run that wants a store and names none gets the NATS one.
    const checkpointStore = checkpointStoreFromFlags(values['checkpoint-store'] as string | undefined, values['checkpoint-dir'] as string | undefined) ?? (values['resume'] || values['resume-from'] !== undefined ? { kind: 'nats' as const } : undefined);
    const maxSteps = positiveInt(values['max-steps'], '--max-steps');
    const maxSkipped = values['max-skipped'] === undefined ? undefined : nonNegativeInt(values['max-skipped'], '--max-skipped');
    const range = workerRange(values['workers'], '--workers') ?? { min: 1, max: 1 };
    const workers = range.max;
    // The coordinator loads the data too, so that a bad file or a model that cannot fit it fails here, before
    // any worker is asked to build the model (the workers' threads are theirs: their own preflight checks them).
    const reportFlag = values['report'];
    preflightRun({
      config, threads: { value: 1, flag: '--threads' }, world: range.min,
      ...(typeof reportFlag === 'string' ? { report: { path: reportFlag, flag: '--report' } } : {}),
      ...(checkpointStore?.kind === 'dir' ? { checkpointDir: { path: checkpointStore.dir, flag: values['checkpoint-dir'] === undefined ? '--checkpoint-store' : '--checkpoint-dir' } } : {}),
    });
    const watchFlags = parseWatchFlags(values);
    const healthAddress = parseHealthFlags(values);
    // The feed is always on: it answers `gradmesh status`; the dashboard and metrics only when asked.
    const feed = new RunFeed();
    feed.setInfo({ run: runId, name: config.name, mode: 'cluster', world: workers, epochs: config.training.epochs, batchSize: config.training.batchSize, trainCount: 0, config: config.raw, modelSummary: modelSummaryOf(config) });
    const printer = progressReporter(log, { quiet: isQuiet(values) });
    const coordinator = new Coordinator({
      natsUrl,
      ...(natsCredentials ? { natsCredentials } : {}),
      runId,
      config,
      workers,
      minWorkers: range.min,
      rejoinTimeoutMs: secondsFlag(values['rejoin-timeout'], '--rejoin-timeout', 60),
      ...(checkpointStore === undefined ? {} : { checkpointStore }),
      resume: values['resume'] === true,
      ...(typeof values['resume-from'] === 'string' ? { resumeFrom: values['resume-from'] } : {}),
      joinTimeoutMs: secondsFlag(values['join-timeout'], '--join-timeout', 60),
      heartbeatTimeoutMs: secondsFlag(values['heartbeat-timeout'], '--heartbeat-timeout', 10),
      stepTimeoutMs: secondsFlag(values['step-timeout'], '--step-timeout', 30),
      evaluationTimeoutMs: secondsFlag(values['eval-timeout'], '--eval-timeout', 4 * secondsFlag(values['step-timeout'], '--step-timeout', 30) / 1000),
      checkpointTimeoutMs: secondsFlag(values['checkpoint-timeout'], '--checkpoint-timeout', 4 * secondsFlag(values['step-timeout'], '--step-timeout', 30) / 1000),
      checksumEvery: positiveInt(values['checksum-every'], '--checksum-every') ?? 50,
      // Note [steps are sent ahead] in coordinator/src/cluster-step-driver.ts: off only to measure it.
      stepAhead: process.env.GRADMESH_STEP_AHEAD !== 'off',
      ...(maxSteps === undefined ? {} : { maxSteps }),
      ...(maxSkipped === undefined ? {} : { maxSkipped }),
      log: (line) => log.info(line),
      onProgress: (e) => (printer(e), feed.progress(e)),
      observer: withStepTimings(feed, values['step-timings'] as string | undefined),
    });
    const started = Date.now();
    const onSignal = (signal: NodeJS.Signals) => coordinator.interrupt(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const unwatch = watchLauncher(() => coordinator.interrupt('the launcher\'s exit'));
    const reportPath = values['report'] as string | undefined;
    // Note [a checkpoint at every stop]: a run stopped before its end says where and how to continue it.
    const resume = checkpointStore === undefined ? undefined : ['coordinator', '--nats', redactUrl(natsUrl), '--config', configPath, '--run', runId, ...(values['workers'] === undefined ? [] : ['--workers', String(values['workers'])]), ...(epochs === undefined ? [] : ['--epochs', String(epochs)]), '--checkpoint-store', describeStoreSpec(checkpointStore), '--resume'];
    const reportStop = async (stop: InterruptedAt) => {
      if (await reportStopToLauncher(stop)) return; // launch prints how to resume the launch
      const resumable = stop.checkpoint !== undefined && resume !== undefined;
      log.info(`${stopMessage(stop, resume, stop.whyNothing)}${resumable ? ' (and start the workers again)' : ''}`, { event: 'stopped', run: runId, step: stop.step, reason: stop.reason, ...(resumable ? { checkpoint: stop.checkpoint, resume: commandLine(resume) } : { resumable: false }) });
    };
    let health: HealthServer | undefined;
    let watch: RunWatch | undefined;
    try {
      health = healthAddress === undefined ? undefined : await HealthServer.start(healthAddress, () => coordinator.readiness);
      watch = await startWatching(watchFlags, feed, { dropped: () => coordinator.drops.snapshot(), status: { natsUrl, runId, credentials: natsCredentials } }, log);
      if (!isQuiet(values)) log.info(
        `${config.name}: coordinator of run "${runId}" on ${redactUrl(natsUrl)} (${describeCredentials(natsCredentials)}), waiting for ${range.min === range.max ? workers : `${range.min}–${range.max}`} worker(s)${checkpointStore ? `, checkpoints: ${describeStoreSpec(checkpointStore)}` : ''}`,
        { event: 'started', run: runId, config: config.name, minWorkers: range.min, maxWorkers: workers, ...(checkpointStore ? { checkpoints: describeStoreSpec(checkpointStore) } : {}), ...(health ? { health: health.address } : {}) },
      );
      if (config.training.allreduce.linkEncryption === 'tls' && linkSecretInTheClear(natsUrl, natsCredentials)) {
        log.warn(`${config.name}: training.allreduce.linkEncryption is "tls" but the NATS connection is not (${redactUrl(natsUrl)}): the link secret travels in the clear; use a tls:// URL or --nats-tls-ca`, { event: 'insecure-link-secret', run: runId });
      }
      let run: Awaited<ReturnType<Coordinator['run']>>;
      try {
        run = await coordinator.run();
      } catch (error) {
        if (error instanceof RunInterrupted) await reportStop(error.stop);
        if (reportPath) await writeFailedReport(reportPath, { runId, config: configPath, workers, error: describeError(error), wallSeconds: (Date.now() - started) / 1000 });
        throw error;
      }
      if (run.test) feed.evaluation('test', run.test);
      const report: RunReport = { status: 'completed', runId, ...clusterReport(config, run, (Date.now() - started) / 1000) };
      printResult(report, run.stepsTaken);
      if (run.stop) await reportStop({ ...run.stop, whyNothing: 'no checkpoint store was set (--checkpoint-store or --checkpoint-dir)' });
      log.info(
        `step time (mean over ranks): compute ${(report['computeSeconds'] as number).toFixed(1)}s, all-reduce ${(report['allreduceSeconds'] as number).toFixed(1)}s (exposed ${(report['exposedAllreduceSeconds'] as number).toFixed(1)}s), wait ${(report['waitSeconds'] as number).toFixed(1)}s; replicas agree (${run.checksumComparisons} checksum comparisons)`,
        { event: 'completed', run: runId, steps: report.steps, testLoss: report.testLoss, testAccuracy: report.testAccuracy, wallSeconds: report.wallSeconds, checksumComparisons: run.checksumComparisons },
      );
      await finishRun(report, isQuiet(values) ? null : run.test?.confusion, reportPath, log);
      await stopWatching(watch, watchFlags, log);
      watch = undefined;
      return 0;
    } finally {
      await watch?.close();
      await health?.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unwatch();
      exitSoon();
    }
  },
};

/**
 * A cluster process must end when its run ends, even if a library keeps a handle open (a pool thread
 * mid-task, a socket): after the exit code is set, give the event loop a moment to drain naturally, then
 * exit. The timer is unref'd, so a clean process exits at once without waiting for it.
 */
export function exitSoon(ms = 3_000): void {
  setTimeout(() => process.exit(), ms).unref();
}
