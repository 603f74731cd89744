import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClusterError, ConfigError, parseStepTimings, type StepTimingSample } from '@gradmesh/shared/internal';
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
  readonly json?: string;
  readonly log?: (line: string) => void;
}

export interface ClusterBenchResult {
  readonly config: string;
  readonly workers: number;
  readonly steps: number;
  readonly warmup: number;
  readonly trainSamplesPerSec: number;
  readonly launchSamplesPerSec: number;
  /** launch ÷ train, of the medians. */
  readonly ratio: number;
  readonly trainRuns: number[];
  readonly launchRuns: number[];
  readonly load: { readonly before: CpuLoad; readonly after: CpuLoad };
  /** CPU ms per measured step by role (medians over runs), when /proc could be read (Note [where launch's time goes]). */
  readonly cpuMsPerStep?: { readonly train: CpuByRole; readonly launch: CpuByRole };
  /** The part of cpuMsPerStep spent in each process's main thread (its event loop), by role (medians over runs). */
  readonly mainThreadCpuMsPerStep?: { readonly train: CpuByRole; readonly launch: CpuByRole };
}

export async function runClusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const log = o.log ?? ((line: string) => console.log(line));
  if (!Number.isInteger(o.workers) || o.workers < 2) throw new ConfigError('--workers', 'must be an integer ≥ 2', { value: o.workers });
  const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-bench-cluster-'));
  try {
    const before = await probeCpuLoad();
    log(`bench cluster: ${o.config}, train (${o.workers} threads) vs launch --workers ${o.workers} (1 thread each), ${o.steps} steps after ${o.warmup} of warm-up, ${o.repeats} runs each; load before: parallel capacity ${before.parallelCapacity.toFixed(2)}`);
    const trainRuns: number[] = [];
    const launchRuns: number[] = [];
    const cpuRuns: { train: CpuByRole[]; launch: CpuByRole[] } = { train: [], launch: [] };
    const mainRuns: { train: CpuByRole[]; launch: CpuByRole[] } = { train: [], launch: [] };
    for (let r = 0; r < o.repeats; r++) {
      for (const kind of ['train', 'launch'] as const) {
        const timings = path.join(dir, `${kind}-${r}.jsonl`);
        const args = kind === 'train'
          ? ['train', '--config', o.config, '--threads', String(o.workers)]
          : ['launch', '--config', o.config, '--workers', String(o.workers), '--threads', '1'];
        const run = startCli(o.cli, [...args, '--max-steps', String(o.warmup + o.steps), '--step-timings', timings, '--quiet'], kind);
        const cpu = processCpuAvailable() ? await cpuPerStep(run.child, timings, o.warmup, o.steps, run.exited) : undefined;
        await run.exited;
        const rate = samplesPerSecond(readSteps(timings), o.warmup, o.steps, kind);
        (kind === 'train' ? trainRuns : launchRuns).push(rate);
        if (cpu !== undefined) {
          cpuRuns[kind].push(cpu.all);
          mainRuns[kind].push(cpu.main);
        }
        log(`  run ${r + 1}/${o.repeats} ${kind.padEnd(6)} ${rate.toFixed(0).padStart(8)} samples/s${cpu === undefined ? '' : `; CPU per step ${describeCpu(cpu.all)}; main threads ${describeCpu(cpu.main)}`}`);
      }
    }
    const after = await probeCpuLoad();
    const t = summarize(trainRuns);
    const l = summarize(launchRuns);
    const complete = cpuRuns.train.length === o.repeats && cpuRuns.launch.length === o.repeats;
    const cpuMsPerStep = complete ? { train: medianByRole(cpuRuns.train), launch: medianByRole(cpuRuns.launch) } : undefined;
    const mainThreadCpuMsPerStep = complete ? { train: medianByRole(mainRuns.train), launch: medianByRole(mainRuns.launch) } : undefined;
    const result: ClusterBenchResult = {
      config: o.config,
      workers: o.workers,
      steps: o.steps,
      warmup: o.warmup,
      trainSamplesPerSec: t.median,
      launchSamplesPerSec: l.median,
      ratio: l.median / t.median,
      trainRuns,
      launchRuns,
      load: { before, after },
      ...(cpuMsPerStep === undefined ? {} : { cpuMsPerStep }),
      ...(mainThreadCpuMsPerStep === undefined ? {} : { mainThreadCpuMsPerStep }),
    };
    log(`train   ${t.median.toFixed(0)} samples/s (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)})`);
    log(`launch  ${l.median.toFixed(0)} samples/s (min ${l.min.toFixed(0)}, max ${l.max.toFixed(0)})`);
    log(`launch ÷ train = ${result.ratio.toFixed(3)}; load after: parallel capacity ${after.parallelCapacity.toFixed(2)}`);
    if (cpuMsPerStep !== undefined) log(`CPU per step (medians): train ${describeCpu(cpuMsPerStep.train)}; launch ${describeCpu(cpuMsPerStep.launch)}`);
    if (mainThreadCpuMsPerStep !== undefined) log(`of it in main threads (the rest: compute threads, V8's helpers): train ${describeCpu(mainThreadCpuMsPerStep.train)}; launch ${describeCpu(mainThreadCpuMsPerStep.launch)}`);
    if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

function startCli(cli: string, args: string[], what: string): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
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
