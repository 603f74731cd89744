import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildNetwork, ClusterError, ConfigError, loadRunConfig } from '@gradmesh/shared/internal';
import { describeLink, namespacesUnavailable, probeLoad, resultsMarkdown, ScalingResults, type LinkSpec, type ScalingRun, type Topology } from '@gradmesh/experiment';
import { defaultThreads } from '../launch/launcher.js';
import { runCombination } from './scaling-combination.js';

export interface ScalingOptions {
  readonly configPath: string;
  readonly workers: readonly number[];
  readonly topologies: readonly Topology[];
  readonly link: LinkSpec;
  /** 'auto': namespaces when this process may create them, else loopback (and why). */
  readonly network: 'auto' | 'netns' | 'loopback';
  readonly warmupSteps: number;
  readonly steps: number;
  /** Compute threads per worker; default max(1, cores / N) per combination, as `gradmesh launch`. */
  readonly threads?: number;
  readonly natsServer: string;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

/**
 * `gradmesh experiment scaling`: every (topology, N) combination in turn, each on a fresh cluster, writing
 * results.json (validated against the ScalingResults contract) and results.md after each one, so an
 * interrupted experiment keeps what it measured. Returns the exit code: 0, or 130 on Ctrl-C.
 */
export async function runScaling(o: ScalingOptions): Promise<number> {
  const config = loadRunConfig(o.configPath);
  const parameters = buildNetwork(config.raw['model'], config.raw['loss'], { path: '', file: config.file }).parameterCount;
  let network: 'netns' | 'loopback' = o.network === 'loopback' ? 'loopback' : 'netns';
  if (o.network !== 'loopback') {
    const why = namespacesUnavailable();
    if (why !== undefined && o.network === 'netns') throw new ConfigError('--network', `netns: ${why}`, { hint: 'run as root, or use --network loopback' });
    if (why !== undefined) {
      o.log(`scaling: ${why} — falling back to loopback: every process on 127.0.0.1, links unshaped, bytes from NATS monitoring`);
      network = 'loopback';
    }
  }
  if (network === 'netns' && o.link.delaySeconds > 0) o.log('scaling: the link delay is recorded for the simulator only: this kernel has no netem, so it is not emulated');
  if (network === 'loopback' && o.link.rateBitsPerSec !== null) o.log('scaling: --link is not applied on loopback (nothing to shape); runs record an unshaped link');
  mkdirSync(path.join(o.outDir, 'logs'), { recursive: true });

  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    o.log(signals === 1 ? 'scaling: interrupted: stopping the run and taking the hosts down (again to exit at once)' : 'scaling: exiting');
    controller.abort();
    if (signals > 1) process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  o.log('scaling: probing the load (Note [load with every result])');
  const before = await probeLoad();
  const cpus = os.cpus();
  const results: ScalingResults = {
    version: 1,
    createdAt: new Date().toISOString(),
    config: path.relative(process.cwd(), path.resolve(o.configPath)) || o.configPath,
    // A compressed all-reduce sends 2 bytes per element instead of 4 (training.allreduce.compression).
    model: {
      parameters,
      gradientBytes: parameters * 4,
      ...(config.training.allreduce.compression === 'none' ? {} : { allreduceBytes: parameters * 2 }),
      transport: config.training.allreduce.transport,
    },
    machine: { cpus: os.availableParallelism(), cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version },
    load: { ...before, perRun: [] as { workers: number; topology: Topology; parallelCapacity: number }[] },
    runs: [],
  };
  const combos = o.topologies.flatMap((topology) => o.workers.map((workers) => ({ topology, workers })));
  o.log(`scaling: ${config.name}, ${parameters.toLocaleString('en-US')} parameters; ${combos.length} combination(s) on ${network}${network === 'netns' ? ` at ${describeLink(o.link)} per host` : ''}; ${o.warmupSteps} warm-up + ${o.steps} measured steps each`);
  try {
    for (const [i, { topology, workers }] of combos.entries()) {
      if (controller.signal.aborted) throw new ClusterError('interrupted');
      const tag = `[${i + 1}/${combos.length}] N=${workers} ${topology}`;
      const load = await probeLoad();
      (results.load['perRun'] as { workers: number; topology: Topology; parallelCapacity: number }[]).push({ workers, topology, parallelCapacity: load.parallelCapacity });
      const threads = o.threads ?? defaultThreads(workers);
      o.log(`scaling: ${tag}: starting (${threads} thread(s) per worker; load: ${load.parallelCapacity} of ${os.availableParallelism()} cores free)`);
      const run: ScalingRun = await runCombination({
        configPath: path.resolve(o.configPath),
        globalBatchSize: config.training.batchSize,
        workers,
        topology,
        link: o.link,
        network,
        warmupSteps: o.warmupSteps,
        steps: o.steps,
        threads,
        natsServer: o.natsServer,
        logFile: path.join(o.outDir, 'logs', `${workers}-${topology}.log`),
        progress: (line) => o.log(`scaling: ${tag}: ${line}`),
        signal: controller.signal,
      });
      results.runs.push(run);
      o.log(
        `scaling: ${tag}: ${run.samplesPerSec.toFixed(1)} samples/s; step ${ms(run.stepSeconds.median)} (compute ${ms(run.computeSeconds.median)}, all-reduce ${ms(run.allreduceSeconds.median)} (exposed ${ms((run.exposedAllreduceSeconds ?? run.allreduceSeconds).median)}), wait ${ms(run.waitSeconds.median)}) median`,
      );
      write(o.outDir, results);
    }
  } catch (error) {
    if (controller.signal.aborted) {
      write(o.outDir, results);
      return 130;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const plots = await writePlots(o.outDir, ScalingResults.parse(results), path.join(o.outDir, 'results.json'), o.log);
  o.log(`scaling: wrote ${path.join(o.outDir, 'results.json')}, results.md${plots.length > 0 ? ` and ${plots.map((p) => `${p}.svg/.png`).join(', ')}` : ''}`);
  return 0;
}

/**
 * The plots of an experiment (drawn by Vega-Lite, `@gradmesh/experiment/plots`): throughput and efficiency vs
 * workers, the stacked step time, and — when the runs can calibrate the simulator (Note [calibration: what is
 * fitted, what is assumed]) — measured vs simulated step time. Returns the plot names written.
 */
async function writePlots(outDir: string, results: ScalingResults, file: string, log: (line: string) => void): Promise<string[]> {
  const { calibrate, validate } = await import('@gradmesh/experiment');
  const { renderScalingPlots } = await import('@gradmesh/experiment/plots');
  let validation: ReturnType<typeof validate> | undefined;
  try {
    validation = validate(results, calibrate(results, file));
  } catch (error) {
    log(`scaling: no measured-vs-simulated plot: the simulator cannot be calibrated on these runs (${(error as Error).message})`);
  }
  const plots = await renderScalingPlots(results, validation === undefined ? {} : { validation });
  for (const plot of plots) {
    writeFileSync(path.join(outDir, `${plot.name}.svg`), plot.svg);
    writeFileSync(path.join(outDir, `${plot.name}.png`), plot.png);
  }
  return plots.map((p) => p.name);
}

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

/** Validates against the contract, then replaces both files atomically. */
function write(outDir: string, results: ScalingResults): void {
  const valid = ScalingResults.parse(results);
  const put = (name: string, text: string) => {
    const file = path.join(outDir, name);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  put('results.json', `${JSON.stringify(valid, null, 2)}\n`);
  put('results.md', resultsMarkdown(valid));
}
