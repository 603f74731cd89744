import path from 'node:path';
import {
  ConfigError,
  createModel,
  historyForReport,
  loadRunConfig,
  nativeDecided,
  preflightRun,
  prepareLocalCheckpoints,
  resolveThreads,
  saveStepTrace,
  StepTrace,
  type RunConfig,
  type RunReport,
} from '@gradmesh/shared/internal';
import { RunFeed, type RunWatch } from '@gradmesh/dashboard';
import { nonNegativeInt, positiveInt, type Command } from './args.js';
import { progressPrinter } from './progress.js';
import { isQuiet, QUIET_OPTION, quietUsage } from './quiet-flag.js';
import { evaluationFields } from './evaluation-fields.js';
import { classNamesField, reportIdentity } from './report-identity.js';
import { describeDataset, finishRun, printResult, skippedFields } from './run-summary.js';
import { parseWatchFlags, WATCH_OPTIONS, watchUsage } from './watch-flags.js';
import { startWatching, stopWatching } from './watching.js';
import { signalExitCode, stopOnSignals } from './stop-signals.js';
import { stopMessage } from './stop-message.js';
import { trainStepTimings } from './train-step-timings.js';
import { traceDirFlag, traceFileOf } from './trace-dir-flag.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a model in this process (no network) and evaluate it on the test set',
  usage: `gradmesh train --config <file.json> [options]

Options:
  --config <file>          run config (see examples/*.json)                        (required)
  --epochs <n>             override training.epochs
  --batch-size <n>         override training.batchSize (\`gradmesh bench cluster\` runs its no-communication
                           reference with it)
  --report <out.json>      write the run report (JSON) here, atomically, at the end
  --checkpoint-dir <dir>   write a checkpoint at the end of every epoch (and every
                           training.checkpointEverySteps steps, and where --max-steps or
                           Ctrl-C stops the run); refused when it holds another run's
                           checkpoints
  --resume                 continue from the newest checkpoint in --checkpoint-dir (refused
                           when it is another model's or data set's; other config changes
                           are listed)
  --resume-from <file>     continue from this checkpoint file
  --backend <name>         native (default: piscina threads with OpenBLAS GEMMs; falls back
                           to pool with one line where the addon cannot load), pool
                           (the same threads, WebAssembly SIMD only) or reference
  --threads <n>            pool threads (default: GRADMESH_THREADS or the cores available)
  --max-steps <n>          stop after n optimizer steps (with a checkpoint there)
  --step-timings <file>    append each step's wall time and samples to this file as one JSON line (the
                           coordinator's format; read by \`gradmesh bench cluster\`)
  --max-skipped <n>        stop after n consecutive steps skipped for a non-finite gradient
                           (default: 5; 0 = never stop)
  --trace-dir <dir>        on exit, write when each step's compute and update ran to <dir>/train.trace.json,
                           a Chrome trace, to compare with a launch's (\`gradmesh trace <dir>\`)
${watchUsage(25)}
${quietUsage(25)}
  --verbose                stack traces on errors`,
  options: {
    config: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    report: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'boolean' },
    'trace-dir': { type: 'string' },
    'resume-from': { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'max-steps': { type: 'string' },
    'step-timings': { type: 'string' },
    'max-skipped': { type: 'string' },
    ...WATCH_OPTIONS,
    ...QUIET_OPTION,
  },
  async run(values) {
    const configPath = values['config'];
    if (typeof configPath !== 'string') throw new ConfigError('--config', 'is required', { hint: 'e.g. gradmesh train --config examples/mnist-mlp.json' });
    let config = loadRunConfig(configPath);
    const epochs = positiveInt(values['epochs'], '--epochs');
    const batchSize = positiveInt(values['batch-size'], '--batch-size');
    config = overrideTraining(config, { ...(epochs === undefined ? {} : { epochs }), ...(batchSize === undefined ? {} : { batchSize }) });
    const backend = values['backend'];
    if (backend !== undefined && backend !== 'pool' && backend !== 'native' && backend !== 'reference') throw new ConfigError('--backend', 'must be pool, native or reference', { value: backend });
    const threads = positiveInt(values['threads'], '--threads');
    const maxSteps = positiveInt(values['max-steps'], '--max-steps');
    const maxSkipped = values['max-skipped'] === undefined ? undefined : nonNegativeInt(values['max-skipped'], '--max-skipped');
    const traceDir = traceDirFlag(values['trace-dir']);
    const checkpointDir = values['checkpoint-dir'] as string | undefined;
    if (values['resume'] && checkpointDir === undefined) throw new ConfigError('--resume', 'needs --checkpoint-dir to find the checkpoint');
    const reportPath = values['report'] as string | undefined;
    const watchFlags = parseWatchFlags(values);

    const started = Date.now();
    let watch: RunWatch | undefined;
    // Every problem knowable now is found before any training or file write (Note [all problems at once]).
    const { data } = preflightRun({
      config, ...(backend ? { backend } : {}), ...(threads ? { threads: { value: threads, flag: '--threads' } } : {}),
      ...(reportPath ? { report: { path: reportPath, flag: '--report' } } : {}), ...(checkpointDir ? { checkpointDir: { path: checkpointDir, flag: '--checkpoint-dir' } } : {}),
    });
    const model = await createModel(config, { ...(backend ? { backend } : {}), ...(threads ? { threads } : {}) });
    try {
      const resumeFrom = values['resume-from'] as string | undefined;
      await prepareLocalCheckpoints(model, { checkpointDir, resume: values['resume'] === true, resumeFrom, log: (line) => process.stderr.write(`${line}\n`) });
      const requested = backend ?? config.backend.type;
      // A native run that fell back (it printed why) ran pool; its report says so.
      const ran = requested === 'native' && nativeDecided()?.available === false ? 'pool' : requested;
      const threadCount = ran !== 'reference' ? resolveThreads(config, threads ? { threads } : {}) : 1;
      if (!isQuiet(values)) process.stderr.write(`${config.name}: ${data.train.count.toLocaleString('en-US')} training / ${data.test.count.toLocaleString('en-US')} test samples, backend ${ran}${threadCount > 1 ? ` (${threadCount} threads)` : ''}\n${model.summary()}\n`);
      const feed = new RunFeed();
      const split = config.training.validationSplit;
      watch = await startWatching(watchFlags, feed, { parameters: model.params.values.size });
      feed.setInfo({
        run: 'local', name: config.name, mode: 'train', world: 1, epochs: config.training.epochs, batchSize: config.training.batchSize,
        trainCount: split > 0 ? data.train.split(split).train.count : data.train.count, config: config.raw, modelSummary: model.summary(),
      });
      const printer = progressPrinter(process.stderr, { quiet: isQuiet(values) });
      const stepsBefore = model.state.step;
      const signals = stopOnSignals((line) => process.stderr.write(`${line}\n`), 'train', checkpointDir !== undefined);
      const stepTimings = trainStepTimings(values['step-timings'] as string | undefined);
      const trace = traceDir === undefined ? undefined : new StepTrace();
      const fit = await model
        .fit(data.train, { test: data.test, onProgress: (e) => (printer(e), feed.progress(e), stepTimings?.(e)), stopRequested: signals.requested, ...(checkpointDir ? { checkpointDir } : {}), ...(maxSteps ? { maxSteps } : {}), ...(maxSkipped === undefined ? {} : { maxSkipped }), ...(trace ? { trace } : {}) })
        .finally(() => {
          signals.dispose();
          if (trace !== undefined) saveStepTrace(traceFileOf(traceDir!, 'train'), 'train', trace, (line) => process.stderr.write(`${line}\n`));
        });
      const resume = ['train', '--config', configPath, ...(epochs === undefined ? [] : ['--epochs', String(epochs)]), ...(batchSize === undefined ? [] : ['--batch-size', String(batchSize)]), ...(backend === undefined ? [] : ['--backend', backend]), '--checkpoint-dir', checkpointDir ?? '', '--resume'];
      const stopped = fit.stop && stopMessage(fit.stop, checkpointDir === undefined ? undefined : resume, 'no --checkpoint-dir was given');
      if (fit.stop?.requested) {
        process.stderr.write(`${stopped}\n`);
        return signalExitCode(fit.stop.reason);
      }
      const test = fit.test ?? { loss: Number.NaN, count: 0, accuracy: null, extras: {}, confusion: null };
      if (fit.test) feed.evaluation('test', fit.test);
      feed.event({ time: Date.now(), kind: 'completed', generation: 1, worker: 'local', step: model.state.step, detail: `completed at step ${model.state.step}` });
      const report: RunReport = {
        config: path.relative(process.cwd(), path.resolve(config.file)) || config.file,
        ...reportIdentity(config),
        task: config.task,
        ...classNamesField(data.train.classNames),
        model: config.name,
        modelKind: model.kind,
        parameters: model.params.values.size,
        dataset: describeDataset(config),
        workers: 1,
        backend: ran,
        threads: threadCount,
        epochs: model.state.history.length,
        steps: model.state.step,
        globalBatchSize: config.training.batchSize,
        ...evaluationFields(model.kind, test, data.test.featureSize),
        trainSamplesPerSec: fit.trainSamples / Math.max(1e-9, fit.trainSeconds),
        wallSeconds: (Date.now() - started) / 1000,
        paramsChecksum: model.params.checksum(),
        history: historyForReport(model.state.history),
        stoppedEarly: model.state.history.length < config.training.epochs && model.state.position.epoch >= config.training.epochs,
        ...skippedFields(fit.skippedSteps),
        finishedAt: new Date().toISOString(),
      };
      printResult(report, model.state.step - stepsBefore);
      if (stopped) process.stderr.write(`${stopped}\n`);
      await finishRun(report, isQuiet(values) ? null : test.confusion, reportPath);
      await stopWatching(watch, watchFlags);
      watch = undefined;
      return 0;
    } finally {
      await watch?.close();
      await model.close();
    }
  },
};

/** The config with `training` fields replaced by command-line values, in the parsed config and in the raw one it records. */
function overrideTraining(config: RunConfig, fields: { epochs?: number; batchSize?: number }): RunConfig {
  if (Object.keys(fields).length === 0) return config;
  return { ...config, training: { ...config.training, ...fields }, raw: { ...config.raw, training: { ...(config.raw['training'] as object), ...fields } } };
}
