import { DataError } from '@gradmesh/shared/internal';
import type { AllreduceTransport, ScalingResults, ScalingRun } from '../scaling-results.js';
import { fitLine, minimizeOnGrid } from './fitting.js';
import { messagePattern } from './message-pattern.js';
import { allreduce, allreduceCpuSeconds, contention as contentionOf, controlHops, type CostParams, type CpuPlacement, type Scenario } from './step-model.js';

/**
 * Note [calibration: what is fitted, what is assumed]
 * The measured runs differ in N, topology and link, never in piece size, so per-message and per-byte costs are
 * collinear in them: the SPLIT between the two, and between publisher and subscriber, is taken from the
 * priors below (bench/README.md, `gradmesh bench allreduce` on this machine with the worker transport:
 * publisher ≈ 0.3 s/GB, subscriber ≈ 0.7 s/GB, nats-server ≈ 0.75 s/GB moved), and the fit scales them:
 *   1. compute: least squares of the runs' median compute time on contention·(c₀ + a·localBatch / threads)
 *      (c₀ ≥ 0, a ≥ 0; contention = max(1, N·threads / cores), cores = the file's parallel capacity, Note [one load figure per file]);
 *   2. nats-server per byte: least squares through the origin of its CPU seconds per step (cpuSecondsPerRole
 *      ['nats-server'], when recorded) on the bytes the servers move per step (message-pattern.ts);
 *   3. client CPU scale k (multiplies the publisher's and subscriber's prior costs): least squares of the workers'
 *      CPU per worker and step (cpuSecondsPerRole.worker) minus compute's CPU (its median wall time ÷ contention)
 *      on base + k · the model's client work at k = 1;
 *   4. hop latency h (and k, when the runs recorded no worker CPU; and the server's scale with it when step 2 had
 *      no data): the minimum over a log grid, refined 4×, then a compass search, of the squared log errors of
 *      the predicted vs measured median all-reduce times of the N ≥ 2 runs, plus a weak pull toward k = 1 and
 *      h = 100 µs so that a parameter the runs do not constrain (k when every run is link-bound) stays at its prior;
 *   5. wait: least squares of (median wait − the control path's delays) ÷ contention − its hop latencies on
 *      w₀ + w₁·N (w₀, w₁ ≥ 0). The slope w₁ is the least certain figure of the model: it is fitted on N ≤ 4 and
 *      carries the projection's coordinator cost to 256.
 * Medians are fitted, not means: one slow step (a GC pause, another agent's burst) should not move the model.
 */
export const PRIOR_COSTS: CostParams = {
  computeSecondsPerSample: 0,
  computeSecondsPerStep: 0,
  publisherSecondsPerByte: 0.3e-9,
  publisherSecondsPerMessage: 5e-6,
  serverSecondsPerByte: 0.75e-9,
  serverSecondsPerMessage: 5e-6,
  subscriberSecondsPerByte: 0.7e-9,
  subscriberSecondsPerMessage: 10e-6,
  hopLatencySeconds: 100e-6,
  waitSecondsPerStep: 0,
  waitSecondsPerWorker: 0,
};

/**
 * Weight of the pull toward the priors, relative to one run's squared log error: small enough that a parameter
 * the runs do inform is theirs (a 300 µs hop latency moves a 100 ms all-reduce by ~1 %, a squared log error of
 * ~1e-4), large enough to choose among the equally good values of one they do not inform.
 */
const PRIOR_WEIGHT = 1e-6;

export interface RunFit {
  readonly workers: number;
  readonly topology: ScalingRun['topology'];
  readonly link: ScalingRun['link'];
  readonly measuredAllreduceSeconds: number;
  readonly fittedAllreduceSeconds: number;
}

export interface Calibration {
  readonly params: CostParams;
  /** Cores the measured runs shared: the file's probe (within [0.25, cpus]). */
  readonly sharedCores: number;
  readonly gradientBytes: number;
  /** How the measured runs' pieces travelled (results.model.transport): the projection's default. */
  readonly transport: AllreduceTransport;
  readonly threadsPerWorker: number;
  /** The local batch of the measured single-worker run (or of the smallest N): the projection's default. */
  readonly localBatch: number;
  /** Fitted k (client CPU scale) and whether the server's per-byte cost came from its measured CPU. */
  readonly clientCpuScale: number;
  readonly serverCostFrom: 'measured-cpu' | 'prior';
  /** Whether k came from the workers' measured CPU, or (without it) from the all-reduce times with the hop latency. */
  readonly clientCostFrom: 'measured-cpu' | 'allreduce-times';
  /** Root-mean-square relative error of the all-reduce fit over the N ≥ 2 runs (0 when there are none). */
  readonly allreduceRmsRelativeError: number;
  readonly allreduceFits: readonly RunFit[];
}

/**
 * The cores the measured processes had: the file's parallel capacity (cpu-probe: how many cores' worth of work
 * ran in parallel before the runs — below 1 when other work held the machine), at most the machine's cores.
 * Unknown (0) means the machine's cores. At least 0.25: a probe that saw less is not believed.
 *
 * Note [one load figure per file]: the runner also probes before each run (`load.perRun`). Modelling each run
 * with its own probe was tried on the first two measured files and fitted worse (all-reduce RMS error 21 % vs
 * 14 % for mnist-mlp, 23 % vs 14 % for mnist-cnn): one probe is a moment's reading, while the load it
 * stands for comes and goes during a run; the file's probe is used for every run.
 */
export function sharedCores(results: ScalingResults): number {
  const capacity = results.load.parallelCapacity;
  return capacity > 0 ? Math.min(results.machine.cpus, Math.max(0.25, capacity)) : results.machine.cpus;
}

/** The busiest worker's shard: ⌈global / N⌉ samples. */
export function localBatchOf(run: Pick<ScalingRun, 'globalBatchSize' | 'workers'>): number {
  return Math.ceil(run.globalBatchSize / run.workers);
}

/** The scenario a measured run was: its N, topology, link and batch on the file's shared machine. */
export function scenarioOfRun(results: ScalingResults, run: ScalingRun, cores = sharedCores(results)): Scenario {
  return {
    workers: run.workers,
    topology: run.topology,
    link: run.link,
    gradientBytes: results.model.gradientBytes,
    localBatch: localBatchOf(run),
    globalBatch: run.globalBatchSize,
    threadsPerWorker: run.threadsPerWorker,
    cpu: { kind: 'shared', cores } satisfies CpuPlacement,
    overlap: measuredOverlap(run),
    transport: results.model.transport ?? 'nats',
  };
}

/** The share of a run's all-reduce hidden behind compute: 1 − exposed / all-reduce (0 for runs without overlap). */
export function measuredOverlap(run: ScalingRun): number {
  const total = run.allreduceSeconds.median;
  if (run.exposedAllreduceSeconds === undefined || total <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - run.exposedAllreduceSeconds.median / total));
}

export function calibrate(results: ScalingResults, file = 'results.json'): Calibration {
  const runs = results.runs;
  if (runs.length === 0) throw new DataError(file, 'has no runs to calibrate from', { hint: 'run `gradmesh experiment scaling` first' });
  const cores = sharedCores(results);
  const scenarios = runs.map((r) => scenarioOfRun(results, r, cores));

  // 1. compute
  const contention = scenarios.map((s) => contentionOf(s));
  const computeFit = fitLine(
    scenarios.map((s, i) => ({ x: s.localBatch / s.threadsPerWorker, y: (runs[i] as ScalingRun).computeSeconds.median / (contention[i] as number), weight: 1 })),
  );
  if (computeFit.slope === 0 && computeFit.intercept === 0) {
    throw new DataError(file, 'every run has a compute time of 0', { hint: 'the runs did not record the step breakdown' });
  }

  // 2. nats-server per byte, from its measured CPU
  let serverSecondsPerByte = PRIOR_COSTS.serverSecondsPerByte;
  let serverCostFrom: Calibration['serverCostFrom'] = 'prior';
  let sxy = 0;
  let sxx = 0;
  runs.forEach((run, i) => {
    const cpu = run.cpuSecondsPerRole['nats-server'];
    if (cpu === undefined || run.workers < 2) return;
    const pattern = messagePattern(run.workers, results.model.gradientBytes, (scenarios[i] as Scenario).topology, results.model.transport ?? 'nats');
    const messages = pattern.servers * (pattern.serverReceives.messages + pattern.serverSends.messages);
    const bytes = pattern.servers * (pattern.serverReceives.bytes + pattern.serverSends.bytes);
    const y = cpu / run.steps - messages * PRIOR_COSTS.serverSecondsPerMessage;
    sxy += bytes * y;
    sxx += bytes * bytes;
  });
  if (sxx > 0 && sxy > 0) {
    serverSecondsPerByte = sxy / sxx;
    serverCostFrom = 'measured-cpu';
  }

  const withCosts = (k: number, h: number): CostParams => ({
    ...PRIOR_COSTS,
    publisherSecondsPerByte: k * PRIOR_COSTS.publisherSecondsPerByte,
    publisherSecondsPerMessage: k * PRIOR_COSTS.publisherSecondsPerMessage,
    subscriberSecondsPerByte: k * PRIOR_COSTS.subscriberSecondsPerByte,
    subscriberSecondsPerMessage: k * PRIOR_COSTS.subscriberSecondsPerMessage,
    serverSecondsPerByte: serverCostFrom === 'measured-cpu' ? serverSecondsPerByte : k * PRIOR_COSTS.serverSecondsPerByte,
    serverSecondsPerMessage: serverCostFrom === 'measured-cpu' ? PRIOR_COSTS.serverSecondsPerMessage : k * PRIOR_COSTS.serverSecondsPerMessage,
    hopLatencySeconds: h,
  });

  // 3. client CPU scale from the workers' measured CPU: per worker and step, CPU − compute's CPU (its wall time ÷
  // contention) = a base (event loop, control messages) + k · the model's client work at k = 1.
  const clientPoints = runs.flatMap((run, i) => {
    const cpu = run.cpuSecondsPerRole['worker'];
    if (cpu === undefined) return [];
    const pattern = messagePattern(run.workers, results.model.gradientBytes, run.topology, results.model.transport ?? 'nats');
    const x = allreduceCpuSeconds(pattern, withCosts(1, 0)).worker;
    return [{ x, y: cpu / run.steps / run.workers - run.computeSeconds.median / (contention[i] as number), weight: 1 }];
  });
  const clientFit = clientPoints.some((p) => p.x > 0) ? fitLine(clientPoints, 'slope') : { slope: 0, intercept: 0 };
  const clientCostFrom: Calibration['clientCostFrom'] = clientFit.slope > 0 ? 'measured-cpu' : 'allreduce-times';

  // 4. hop latency (and the client CPU scale when step 3 had no data), from the all-reduce times
  const reduceRuns = runs.map((run, i) => ({ run, scenario: scenarios[i] as Scenario })).filter(({ run }) => run.workers >= 2 && run.allreduceSeconds.median > 0);
  const fixedLogK = clientCostFrom === 'measured-cpu' ? Math.log(clientFit.slope) : undefined;
  const objective = (x: number, logH: number): number => {
    const logK = fixedLogK ?? x;
    const p = withCosts(Math.exp(logK), Math.exp(logH));
    let sum = 0;
    for (const { run, scenario } of reduceRuns) sum += Math.log(allreduce(scenario, p).seconds / run.allreduceSeconds.median) ** 2;
    return sum + PRIOR_WEIGHT * (logK ** 2 + Math.log(Math.exp(logH) / PRIOR_COSTS.hopLatencySeconds) ** 2);
  };
  const best =
    reduceRuns.length === 0
      ? { x: fixedLogK ?? 0, y: Math.log(PRIOR_COSTS.hopLatencySeconds) }
      : minimizeOnGrid(objective, { x: fixedLogK === undefined ? [Math.log(0.01), Math.log(100)] : [fixedLogK, fixedLogK], y: [Math.log(1e-7), Math.log(0.1)] });
  const k = Math.exp(fixedLogK ?? best.x);
  const h = Math.exp(best.y);

  // 5. wait
  const waitFit = fitLine(
    runs.map((r, i) => {
      const hops = controlHops(r.topology, r.workers);
      return { x: r.workers, y: (r.waitSeconds.median - 2 * hops.link * r.link.delaySeconds) / (contention[i] as number) - 2 * hops.server * h, weight: 1 };
    }),
    'intercept',
  );

  const params: CostParams = {
    ...withCosts(k, h),
    computeSecondsPerSample: computeFit.slope,
    computeSecondsPerStep: computeFit.intercept,
    waitSecondsPerStep: waitFit.intercept,
    waitSecondsPerWorker: waitFit.slope,
  };
  const allreduceFits = reduceRuns.map(({ run, scenario }) => ({
    workers: run.workers,
    topology: run.topology,
    link: run.link,
    measuredAllreduceSeconds: run.allreduceSeconds.median,
    fittedAllreduceSeconds: allreduce(scenario, params).seconds,
  }));
  const rms = allreduceFits.length === 0 ? 0 : Math.sqrt(allreduceFits.reduce((s, f) => s + (f.fittedAllreduceSeconds / f.measuredAllreduceSeconds - 1) ** 2, 0) / allreduceFits.length);
  const single = [...runs].sort((a, b) => a.workers - b.workers)[0] as ScalingRun;
  return {
    params,
    sharedCores: cores,
    gradientBytes: results.model.gradientBytes,
    transport: results.model.transport ?? 'nats',
    threadsPerWorker: single.threadsPerWorker,
    localBatch: localBatchOf(single),
    clientCpuScale: k,
    serverCostFrom,
    clientCostFrom,
    allreduceRmsRelativeError: rms,
    allreduceFits,
  };
}
