import path from 'node:path';
import { historyForReport, modelKind, type PeerPathCounts, type RunConfig, type RunReport } from '@gradmesh/shared/internal';
import type { ClusterRun } from '@gradmesh/coordinator';
import { evaluationFields } from './evaluation-fields.js';
import { classNamesField, reportIdentity } from './report-identity.js';
import { describeDataset, skippedFields } from './run-summary.js';

/**
 * The report of a cluster run: every field `gradmesh train` writes (same meanings), plus
 *   workers = N; perWorker[rank] = { rank, workerId, host, threads, computeSeconds, allreduceSeconds,
 *   waitSeconds, steps }; replicaChecksumsAgree and checksumComparisons; the step-time breakdown
 *   computeSeconds / allreduceSeconds / exposedAllreduceSeconds / waitSeconds (means over ranks, see
 *   coordinator/src/timings.ts) and allreduceOverlap = 1 − exposed / all-reduce (the share hidden behind compute)
 *   and stepWallSeconds; stepsSentAhead (steps whose command went out before the previous step's replies, Note [steps
 *   are sent ahead] in coordinator/src/cluster-step-driver.ts); allreduce = { transport: the path gradient
 *   pieces took, `nats` or `direct`, linkEncryption `none` or `tls`, compression, and over direct links once every
 *   rank said: pairsThroughSharedMemory of pairs, the ordered pairs of ranks whose pieces went through shared memory
 *   (Note [paths in the report] in shared/src/protocol/messages.ts) }; perWorker[rank] also peersThroughSharedMemory
 *   and peersOverLinks when the rank said; skippedSteps / skipped (the NaN/Inf guard, as for train); droppedMessages (messages every process dropped: `coordinator` and `workers.<id>`, by kind/reason).
 */
export function clusterReport(config: RunConfig, run: ClusterRun, wallSeconds: number): RunReport {
  const kind = modelKind(config.model);
  const info = run.ready[0]!;
  const test = run.test ?? { loss: Number.NaN, count: 0, accuracy: null, extras: {}, confusion: null };
  const t = config.training;
  return {
    config: path.relative(process.cwd(), path.resolve(config.file)) || config.file,
    ...reportIdentity(config),
    task: config.task,
    ...classNamesField(info.classNames),
    model: config.name,
    modelKind: kind,
    parameters: info.parameters,
    dataset: describeDataset(config),
    workers: run.generation.worldSize,
    backend: config.backend.type,
    threads: info.threads,
    epochs: run.state.history.length,
    steps: run.state.step,
    globalBatchSize: t.batchSize,
    ...evaluationFields(kind, test, info.featureSize),
    trainSamplesPerSec: run.trainSamples / Math.max(1e-9, run.trainSeconds),
    wallSeconds,
    paramsChecksum: run.paramsChecksum,
    history: historyForReport(run.state.history),
    stoppedEarly: run.state.history.length < t.epochs && run.state.position.epoch >= t.epochs,
    ...skippedFields(run.state.skipped),
    finishedAt: new Date().toISOString(),
    replicaChecksumsAgree: run.replicaChecksumsAgree,
    checksumComparisons: run.checksumComparisons,
    computeSeconds: run.timings.computeSeconds,
    allreduceSeconds: run.timings.allreduceSeconds,
    exposedAllreduceSeconds: run.timings.exposedAllreduceSeconds,
    allreduceOverlap: run.timings.allreduceSeconds > 0 ? 1 - run.timings.exposedAllreduceSeconds / run.timings.allreduceSeconds : 0,
    waitSeconds: run.timings.waitSeconds,
    stepWallSeconds: run.timings.stepWallSeconds,
    stepsSentAhead: run.timings.stepsSentAhead,
    allreduce: { transport: run.allreduceTransport, linkEncryption: t.allreduce.linkEncryption, compression: t.allreduce.compression, ...sharedMemoryPairs(run) },
    perWorker: run.generation.members.map((m) => {
      const timing = run.timings.perRank[m.rank]!;
      return {
        rank: m.rank,
        workerId: m.workerId,
        host: m.host,
        threads: run.ready[m.rank]?.threads ?? m.threads,
        computeSeconds: timing.computeSeconds,
        allreduceSeconds: timing.allreduceSeconds,
        exposedAllreduceSeconds: timing.exposedAllreduceSeconds,
        waitSeconds: timing.waitSeconds,
        steps: timing.steps,
        ...peerPathFields(run.peerPaths[m.rank]),
      };
    }),
    runSteps: run.stepsTaken,
    ...(run.resumedFrom === undefined ? {} : { resumedFrom: run.resumedFrom }),
    droppedMessages: { coordinator: run.drops, workers: run.workerDrops },
    generations: run.generations,
    events: run.events,
  };
}

/** perWorker's paths, when the rank reported them (Note [paths in the report]). */
function peerPathFields(counts: PeerPathCounts | undefined): { peersThroughSharedMemory?: number; peersOverLinks?: number } {
  return counts === undefined ? {} : { peersThroughSharedMemory: counts.memory, peersOverLinks: counts.links };
}

/** The run's ordered pairs of ranks whose pieces went through shared memory, once every rank of the final generation said. */
function sharedMemoryPairs(run: ClusterRun): { pairsThroughSharedMemory?: number; pairs?: number } {
  const n = run.generation.worldSize;
  if (run.allreduceTransport !== 'direct' || n < 2 || run.peerPaths.length !== n || run.peerPaths.some((p) => p === undefined)) return {};
  return { pairsThroughSharedMemory: run.peerPaths.reduce((sum, p) => sum + p!.memory, 0), pairs: n * (n - 1) };
}
