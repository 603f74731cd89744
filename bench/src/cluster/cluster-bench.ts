import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { availableCpus, boundCommand, ClusterError, ConfigError, formatCpuList, loadRunConfig, machineCpuBinding, parseStepTimings, shardRange, type StepTimingSample } from '@gradmesh/shared/internal';
import { probeCpuLoad, type CpuLoad } from '../backend/cpu-load.js';
import { summarize } from '../backend/timing.js';
import { cpuBetween, processCpuAvailable, processTreeCpu, type CpuByRole } from './process-tree-cpu.js';

/**
 * `gradmesh bench cluster`: what a user on one machine pays for `launch --workers N` (N processes, 1 pool thread
 * each, gradients all-reduced over a local nats-server) against `train` (one process, N pool threads), on the
 * same config, in one invocation.
 *
 * Note [measuring K steps after warm-up]: each run is a real CLI run (`train` / `launch`) with `--max-steps W+K`
 * and `--step-timings <file>`, which appends every step's wall time and samples as it completes; the figure is
 * samples / Σ wall over steps W … W+K−1, so start-up (data loading, pool threads, NATS, membership) and the
 * first steps' JIT warm-up are left out. The two kinds of run alternate (train, launch, train, …) so that a
 * change of the machine's load hits both alike; medians with min/max are reported, and the load is probed
 * before and after.
 *
 * Note [where launch's time goes]: on Linux the bench also reads the CPU time of each run's process tree when the
 * warm-up ends and when the measured steps end (process-tree-cpu.ts), by role — the train process; launch's
 * workers, nats-server, coordinator and launcher — and prints CPU ms per step. On a machine whose cores are all
 * busy, launch ÷ train is about train's CPU per step ÷ launch's: what the all-reduce costs in nats-server and
 * the workers is then visible next to the ratio. It also reads each process's main thread alone: what is left
 * is the compute threads (and V8's helpers), so "compute" and "everything else" part per step — 2026-12-02, CNN:
 * train 1.63 of 1.77 busy cores in compute, launch 1.20 of 1.76, the rest in the workers' main threads (0.39),
 * the coordinator and nats-server.
 *
 * Note [the no-communication reference]: a third kind of run, `independent`, starts N `train --threads 1`
 * processes at once, each with the batch of one launch rank (`--batch-size`, the global batch split as the ranks
 * split it), and nothing between them: every process does what a launch worker does in a step — its shard's
 * gradients on one pool thread, the optimizer update over every parameter — except communicate and wait for the
 * others. Their summed samples/s is what N processes could deliver on this machine, so launch ÷ independent is
 * what the all-reduce, the coordinator and the lock-step cost, and independent ÷ train what the process layout
 * alone costs (or gains). 2026-12-02, CNN, 2 cores: independent 1.08–1.13 × train, launch 0.62–0.68 × independent —
 * the gap is communication and synchronization, not the number of processes.
 *
 * Note [the bench binds as launch does]: `--cpu-bind` is handed to every launch run, and the independent processes
 * are bound the same way (process k to launch's block k, Note [workers bound to cores]), so launch ÷ independent
 * still compares the same process layout, with and without communication. `train` is never bound.
 */
export interface ClusterBenchOptions {
  /** The gradmesh CLI entry (bin/gradmesh.js). */
  readonly cli: string;
  readonly config: string;
  readonly workers: number;
  /** Measured steps per run (K) and warm-up steps before them (W). */
  readonly steps: number;
  readonly warmup: number;
  /** Runs of each kind. */
  readonly repeats: number;
  /** launch's --cpu-bind (default 'cores'), and the binding of the independent processes (Note [the bench binds as launch does]). */
  readonly cpuBind?: 'cores' | 'none';
  readonly json?: string;
  readonly log?: (line: string) => void;
}

export interface ClusterBenchResult {
  readonly config: string;
  readonly workers: number;
  readonly steps: number;
  readonly warmup: number;
  /** launch's --cpu-bind; `cpuSets` the CPUs of each worker (and independent process) when they were bound. */
  readonly cpuBind: 'cores' | 'none';
  readonly cpuSets?: readonly string[];
  readonly trainSamplesPerSec: number;
  readonly launchSamplesPerSec: number;
  /** The N independent processes' summed samples/s (Note [the no-communication reference]), median over runs. */
  readonly independentSamplesPerSec: number;
  /** launch ÷ train, of the medians. */
  readonly ratio: number;
  /** launch ÷ independent, of the medians: the share of the no-communication reference launch reaches. */
  readonly launchOverIndependent: number;
  readonly trainRuns: number[];
  readonly launchRuns: number[];
  readonly independentRuns: number[];
  readonly load: { readonly before: CpuLoad; readonly after: CpuLoad };
  /** CPU ms per measured step by role (medians over runs), when /proc could be read (Note [where launch's time goes]). */
  readonly cpuMsPerStep?: { readonly train: CpuByRole; readonly launch: CpuByRole; readonly independent: CpuByRole };
  /** The part of cpuMsPerStep spent in each process's main thread (its event loop), by role (medians over runs). */
  readonly mainThreadCpuMsPerStep?: { readonly train: CpuByRole; readonly launch: CpuByRole; readonly independent: CpuByRole };
}

export async function runClusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const log = o.log ?? ((line: string) => console.log(line));
  if (!Number.isInteger(o.workers) || o.workers < 2) throw new ConfigError('--workers', 'must be an integer ≥ 2', { value: o.workers });
  const batches = independentBatches(loadRunConfig(o.config).training.batchSize, o.workers);
  const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-bench-cluster-'));
  try {
    const before = await probeCpuLoad();
    const cpuBind = o.cpuBind ?? 'cores';
    const binding = cpuBind === 'none' ? undefined : machineCpuBinding(o.workers, 1, availableCpus());
    const bound = binding?.bound ? binding : undefined;
    log(`bench cluster: ${o.config}, train (${o.workers} threads) vs launch --workers ${o.workers} (1 thread each) vs ${o.workers} independent processes (1 thread each, batch ${batches.join(' + ')}, no communication), ${o.steps} steps after ${o.warmup} of warm-up, ${o.repeats} runs each; load before: parallel capacity ${before.parallelCapacity.toFixed(2)}`);
    const why = binding === undefined ? '' : binding.bound ? '' : ` (${binding.reason})`;
    log(`  --cpu-bind ${cpuBind}: ${bound ? `launch's workers and the independent processes bound to CPUs ${bound.sets.map(formatCpuList).join(' | ')}` : `nothing bound${why}`}; train never`);
    const runs: Record<RunKind, number[]> = { train: [], launch: [], independent: [] };
    const cpuRuns: Record<RunKind, CpuByRole[]> = { train: [], launch: [], independent: [] };
    const mainRuns: Record<RunKind, CpuByRole[]> = { train: [], launch: [], independent: [] };
    for (let r = 0; r < o.repeats; r++) {
      for (const kind of RUN_KINDS) {
        const processes = kind === 'independent'
          ? batches.map((b) => ['train', '--config', o.config, '--threads', '1', '--batch-size', String(b)])
          : [kind === 'train' ? ['train', '--config', o.config, '--threads', String(o.workers)] : ['launch', '--config', o.config, '--workers', String(o.workers), '--threads', '1', '--cpu-bind', cpuBind]];
        // Settled, not Promise.all: when one process fails, the others are still awaited, so none outlives the bench.
        const settled = await Promise.allSettled(
          processes.map(async (args, p): Promise<ProcessMeasurement> => {
            const timings = path.join(dir, `${kind}-${r}-${p}.jsonl`);
            const run = startCli(o.cli, [...args, '--max-steps', String(o.warmup + o.steps), '--step-timings', timings, '--quiet'], kind, kind === 'independent' && bound ? { taskset: bound.taskset!, cpus: bound.sets[p]! } : undefined);
            const cpu = processCpuAvailable() ? await cpuPerStep(run.child, timings, o.warmup, o.steps, run.exited) : undefined;
            await run.exited;
            return { rate: samplesPerSecond(readSteps(timings), o.warmup, o.steps, kind), cpu };
          }),
        );
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        const measured = settled.map((s) => (s as PromiseFulfilledResult<ProcessMeasurement>).value);
        // Independent processes run side by side: their rates add up, and so does their CPU per (global) step.
        const rate = measured.reduce((a, m) => a + m.rate, 0);
        runs[kind].push(rate);
        const cpus = measured.map((m) => m.cpu);
        const cpu = cpus.every((c) => c !== undefined) ? { all: sumByRole(cpus.map((c) => c!.all)), main: sumByRole(cpus.map((c) => c!.main)) } : undefined;
        if (cpu !== undefined) {
          cpuRuns[kind].push(cpu.all);
          mainRuns[kind].push(cpu.main);
        }
        log(`  run ${r + 1}/${o.repeats} ${kind.padEnd(11)} ${rate.toFixed(0).padStart(8)} samples/s${cpu === undefined ? '' : `; CPU per step ${describeCpu(cpu.all)}; main threads ${describeCpu(cpu.main)}`}`);
      }
    }
    const after = await probeCpuLoad();
    const t = summarize(runs.train);
    const l = summarize(runs.launch);
    const ind = summarize(runs.independent);
    const complete = RUN_KINDS.every((kind) => cpuRuns[kind].length === o.repeats);
    const byKind = (r: Record<RunKind, CpuByRole[]>) => ({ train: medianByRole(r.train), launch: medianByRole(r.launch), independent: medianByRole(r.independent) });
    const cpuMsPerStep = complete ? byKind(cpuRuns) : undefined;
    const mainThreadCpuMsPerStep = complete ? byKind(mainRuns) : undefined;
    const result: ClusterBenchResult = {
      config: o.config,
      workers: o.workers,
      steps: o.steps,
      warmup: o.warmup,
      cpuBind,
      ...(bound ? { cpuSets: bound.sets.map(formatCpuList) } : {}),
      trainSamplesPerSec: t.median,
      launchSamplesPerSec: l.median,
      independentSamplesPerSec: ind.median,
      ratio: l.median / t.median,
      launchOverIndependent: l.median / ind.median,
      trainRuns: runs.train,
      launchRuns: runs.launch,
      independentRuns: runs.independent,
      load: { before, after },
      ...(cpuMsPerStep === undefined ? {} : { cpuMsPerStep }),
      ...(mainThreadCpuMsPerStep === undefined ? {} : { mainThreadCpuMsPerStep }),
    };
    log(`train        ${t.median.toFixed(0)} samples/s (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)})`);
    log(`launch       ${l.median.toFixed(0)} samples/s (min ${l.min.toFixed(0)}, max ${l.max.toFixed(0)})`);
    log(`independent  ${ind.median.toFixed(0)} samples/s (min ${ind.min.toFixed(0)}, max ${ind.max.toFixed(0)}): ${o.workers} processes, no communication`);
    log(`launch ÷ train = ${result.ratio.toFixed(3)}; launch ÷ independent = ${result.launchOverIndependent.toFixed(3)} (what communication and lock-step cost); independent ÷ train = ${(ind.median / t.median).toFixed(3)}; load after: parallel capacity ${after.parallelCapacity.toFixed(2)}`);
    if (cpuMsPerStep !== undefined) log(`CPU per step (medians): train ${describeCpu(cpuMsPerStep.train)}; launch ${describeCpu(cpuMsPerStep.launch)}; independent ${describeCpu(cpuMsPerStep.independent)}`);
    if (mainThreadCpuMsPerStep !== undefined) log(`of it in main threads (the rest: compute threads, V8's helpers): train ${describeCpu(mainThreadCpuMsPerStep.train)}; launch ${describeCpu(mainThreadCpuMsPerStep.launch)}; independent ${describeCpu(mainThreadCpuMsPerStep.independent)}`);
    if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RUN_KINDS = ['train', 'launch', 'independent'] as const;
type RunKind = (typeof RUN_KINDS)[number];

/** One process's samples/s over the measured steps, and its CPU per step when /proc could be read. */
interface ProcessMeasurement {
  readonly rate: number;
  readonly cpu: { readonly all: CpuByRole; readonly main: CpuByRole } | undefined;
}

/**
 * The batch of each of `workers` independent processes: the global batch split as the ranks of a launch split it
 * (Note [the no-communication reference]); refused when some process would get no sample.
 */
export function independentBatches(batchSize: number, workers: number): number[] {
  if (batchSize < workers) throw new ConfigError('training.batchSize', `must be at least --workers (${workers}) for the independent processes of bench cluster`, { value: batchSize });
  return Array.from({ length: workers }, (_, rank) => {
    const [start, end] = shardRange(0, batchSize, rank, workers);
    return end - start;
  });
}

/** Per-role sums (the independent processes' CPU per step add up to the CPU of one global step). */
export function sumByRole(cpus: readonly CpuByRole[]): CpuByRole {
  const total: CpuByRole = {};
  for (const cpu of cpus) for (const [role, ms] of Object.entries(cpu)) total[role] = (total[role] ?? 0) + ms;
  return total;
}

/** Samples per second over steps [warmup, warmup + steps): Σ samples / Σ wall time of those steps. */
export function samplesPerSecond(samples: readonly StepTimingSample[], warmup: number, steps: number, what: string): number {
  const first = samples[0]?.step ?? 0;
  const measured = samples.filter((s) => s.step >= first + warmup && s.step < first + warmup + steps);
  if (measured.length !== steps) throw new ClusterError(`bench cluster: the ${what} run timed ${measured.length} of the ${steps} steps after warm-up`, { hint: 'the config may have fewer steps than --warmup + --steps' });
  const wallMs = measured.reduce((a, s) => a + s.wallMs, 0);
  const count = measured.reduce((a, s) => a + s.ranks.reduce((b, r) => b + r.samples, 0), 0);
  return count / (wallMs / 1000);
}

function readSteps(file: string): StepTimingSample[] {
  return parseStepTimings(readFileSync(file, 'utf8'));
}

function startCli(cli: string, args: string[], what: string, bindTo?: { taskset: string; cpus: readonly number[] }): { child: ChildProcess; exited: Promise<void> } {
  const start = bindTo === undefined ? { command: process.execPath, args: [cli, ...args] } : boundCommand(bindTo.taskset, bindTo.cpus, process.execPath, [cli, ...args]);
  const child = spawn(start.command, start.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new ClusterError(`bench cluster: the ${what} run exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))));
  });
  return { child, exited };
}

/** The role of a process of a run, by its command line (Note [where launch's time goes]). */
export function roleOf(commandLine: string): string | undefined {
  const argv = commandLine.split(' ');
  if (argv[0]?.endsWith('nats-server')) return 'nats-server';
  if (commandLine.includes('watchdog')) return 'launcher';
  for (const role of ['coordinator', 'worker', 'train', 'launch'] as const) if (argv.includes(role)) return role === 'launch' ? 'launcher' : role;
  return undefined;
}

/**
 * CPU ms per step by role over the measured steps: readings when the step-timings file first holds ≥ warmup steps
 * and ≥ warmup + steps, divided by the steps between the two readings; undefined if the run ended first.
 */
async function cpuPerStep(child: ChildProcess, timings: string, warmup: number, steps: number, exited: Promise<void>): Promise<{ all: CpuByRole; main: CpuByRole } | undefined> {
  let ended = false;
  void exited.then(() => (ended = true), () => (ended = true));
  let start: { steps: number; all: CpuByRole; main: CpuByRole } | undefined;
  while (!ended && child.pid !== undefined) {
    const done = stepsTimed(timings);
    if (start === undefined && done >= warmup) start = { steps: done, all: processTreeCpu(child.pid, roleOf), main: processTreeCpu(child.pid, roleOf, 'main') };
    if (start !== undefined && done >= warmup + steps) {
      const [all, main] = [processTreeCpu(child.pid, roleOf), processTreeCpu(child.pid, roleOf, 'main')];
      const n = Math.max(1, done - start.steps);
      const perStep = (cpu: CpuByRole) => Object.fromEntries(Object.entries(cpu).map(([role, seconds]) => [role, (seconds * 1000) / n]));
      return { all: perStep(cpuBetween(start.all, all)), main: perStep(cpuBetween(start.main, main)) };
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return undefined;
}

function stepsTimed(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).length;
  } catch {
    return 0;
  }
}

function medianByRole(runs: readonly CpuByRole[]): CpuByRole {
  const roles = [...new Set(runs.flatMap((r) => Object.keys(r)))].sort();
  return Object.fromEntries(roles.map((role) => [role, summarize(runs.map((r) => r[role] ?? 0)).median]));
}

/** "37.5 ms = worker 29.8 + nats-server 7.4 + …", largest first. */
export function describeCpu(cpu: CpuByRole): string {
  const parts = Object.entries(cpu).filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((a, [, ms]) => a + ms, 0);
  return `${total.toFixed(1)} ms${parts.length > 1 ? ` = ${parts.map(([role, ms]) => `${role} ${ms.toFixed(1)}`).join(' + ')}` : ''}`;
}
