import type { RunConfig } from '../config/run-config.js';
import type { DatasetPair } from '../data/dataset.js';
import { datasetFromConfig } from '../data/source.js';
import { buildNetwork, modelKind } from '../model/build.js';
import { availableCpus } from '../train/cpu-quota.js';
import type { Network } from '../model/network.js';
import { checkLossAgainstOutput } from './loss-vs-output.js';
import { checkBatchMemory, estimatePoolMemory } from './memory.js';
import { checkModelAgainstData } from './model-vs-data.js';
import { checkCheckpointDir, checkReportPath } from './paths.js';
import { Problems } from './problems.js';
import { checkThreads, MAX_THREADS } from './threads.js';

export interface PreflightOptions {
  readonly config: RunConfig;
  /** The backend that will run (a flag may override the config's). */
  readonly backend?: 'reference' | 'pool' | 'native';
  /** Pool threads per process and where the number came from (`--threads`, `GRADMESH_THREADS`, `backend.threads`). */
  readonly threads?: { readonly value: number; readonly flag: string };
  /** Workers sharing each step (a cluster's smallest world: the largest share per worker). Default 1. */
  readonly world?: number;
  /** `--report` (and the flag's name) when given. */
  readonly report?: { readonly path: string; readonly flag: string };
  /** `--checkpoint-dir` (and the flag's name) when given. */
  readonly checkpointDir?: { readonly path: string; readonly flag: string };
}

export interface Preflight {
  readonly data: DatasetPair;
  readonly network: Network;
}

/**
 * Everything about a run that can be known before it starts, checked before any training, any
 * process start and any file write: output paths, threads, the data files, the model against the
 * data (input shape, units and labels), the loss against the output, and the batch against the
 * pool's memory. Every problem found is reported at once (one line each, Note [all problems at once]);
 * the data set loaded on the way is returned for the run to use.
 */
export function preflightRun(o: PreflightOptions): Preflight {
  const { config } = o;
  const problems = new Problems();
  const world = o.world ?? 1;
  const file = config.file === '(inline)' ? {} : { file: config.file };
  if (o.report !== undefined) problems.check(() => checkReportPath(o.report!.path, o.report!.flag, config.file === '(inline)' ? undefined : config.file));
  if (o.checkpointDir !== undefined) problems.check(() => checkCheckpointDir(o.checkpointDir!.path, o.checkpointDir!.flag));
  const backend = o.backend ?? config.backend.type;
  const threads = o.threads ?? threadSource(config);
  if (backend !== 'reference') problems.check(() => checkThreads(threads.value, threads.flag));
  const data = problems.check(() => datasetFromConfig(config.dataset, { path: 'dataset', ...file }, config.baseDir, { task: config.task }));
  const network = problems.check(() => buildNetwork(config.model, config.loss, { path: '', ...file }));
  if (data !== undefined && network !== undefined) {
    const classifier = modelKind(config.model) === 'sequential' && !isRegression(config);
    checkModelAgainstData(network, data, classifier, problems, file);
    if (classifier) {
      const lossProblem = checkLossAgainstOutput(config.model, config.loss, Math.max(data.train.classes, data.test.classes), file);
      if (lossProblem !== undefined) problems.add(lossProblem);
    }
    if (backend !== 'reference') {
      const trainCount = Math.max(1, Math.ceil(data.train.count * (1 - config.training.validationSplit)));
      const memory = problems.check(() => estimatePoolMemory(network, config.optimizer, config.training, { trainCount, world, threads: Math.min(Math.max(1, threads.value), MAX_THREADS) }));
      const memoryProblem = memory === undefined ? undefined : checkBatchMemory(memory, config.training, world, file);
      if (memoryProblem !== undefined) problems.add(memoryProblem);
    }
  }
  problems.throwIfAny();
  return { data: data!, network: network! };
}

/** A regression run (`"task": "regression"`) has no classes to match units and labels against. */
function isRegression(config: RunConfig): boolean {
  return config.task === 'regression';
}

/** Where a run's thread count comes from when no flag gives it: GRADMESH_THREADS, then the config, then the cores. */
export function threadSource(config: RunConfig): { value: number; flag: string } {
  const env = process.env['GRADMESH_THREADS'];
  if (env !== undefined && /^[1-9][0-9]*$/.test(env)) return { value: Number(env), flag: 'GRADMESH_THREADS' };
  if (config.backend.threads !== undefined) return { value: config.backend.threads, flag: 'backend.threads' };
  return { value: Math.min(availableCpus(), MAX_THREADS), flag: 'the number of CPUs' };
}
