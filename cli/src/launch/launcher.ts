import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolveNatsServer, startLocalNatsServer, type LocalNatsServer } from '@gradmesh/transport';
import { ChildGroup } from './children.js';

export interface LaunchOptions {
  readonly configPath: string;
  /** Worker processes to start (MAX of `--workers MIN:MAX`). */
  readonly workers: number;
  /** The fewest workers the run goes on with (MIN); default `workers`. */
  readonly minWorkers?: number;
  /** Start a replacement for a worker process that died, at most this many times in all (torchrun's --max-restarts). */
  readonly maxRestarts?: number;
  /** A running NATS server; without it a local nats-server is started on 127.0.0.1. */
  readonly natsUrl?: string;
  readonly natsServer?: string;
  readonly runId: string;
  /** Compute threads per worker (default: max(1, floor(cores / N))). */
  readonly threads?: number;
  /** Extra coordinator flags, passed through verbatim (--report, --checkpoint-dir, --resume, --epochs, …). */
  readonly coordinatorArgs: readonly string[];
  /** Extra worker flags (e.g. --heartbeat-timeout). */
  readonly workerArgs?: readonly string[];
  /** How long the workers get to exit after the coordinator has (default 15 s), before SIGKILL. */
  readonly graceMs?: number;
  readonly log: (line: string) => void;
}

/** The gradmesh CLI entry (bin/gradmesh.js), relative to this file in src/ and in dist/ alike. */
export const CLI_PATH = fileURLToPath(new URL('../../../bin/gradmesh.js', import.meta.url));

export function defaultThreads(workers: number): number {
  return Math.max(1, Math.floor(os.availableParallelism() / workers));
}

/**
 * `gradmesh launch`: the one-machine cluster. Starts nats-server (unless given a URL), the coordinator and N
 * workers as separate node processes of this CLI, forwards their output, and ends them all:
 *   - normally: the coordinator exits (its code is ours), the workers follow its `shutdown`;
 *   - on Ctrl-C / SIGTERM: the coordinator is interrupted (it tells the workers to stop); a second signal,
 *     or anything still running after the grace period, is SIGKILLed;
 *   - nats-server is stopped last, after every client is gone.
 */
export async function launch(o: LaunchOptions): Promise<number> {
  let nats: LocalNatsServer | undefined;
  let url = o.natsUrl;
  if (url === undefined) {
    nats = await startLocalNatsServer(resolveNatsServer(o.natsServer));
    url = nats.url;
    o.log(`launch: nats-server ${nats.version} on ${url}`);
  }
  const group = new ChildGroup();
  const threads = o.threads ?? defaultThreads(o.workers);
  let interrupted = 0;
  let forceTimer: NodeJS.Timeout | undefined;
  const grace = o.graceMs ?? 15_000;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted++;
    if (interrupted === 1) {
      o.log(`launch: ${signal}: stopping the run (again to kill everything)`);
      group.signal(coordinator, 'SIGINT');
      forceTimer = setTimeout(() => group.killAll('SIGKILL'), grace);
    } else {
      group.killAll('SIGKILL');
    }
  };
  const range = o.minWorkers !== undefined && o.minWorkers !== o.workers ? `${o.minWorkers}:${o.workers}` : String(o.workers);
  const coordinator = group.spawn('coordinator', process.execPath, [CLI_PATH, 'coordinator', '--nats', url, '--config', o.configPath, '--run', o.runId, '--workers', range, ...o.coordinatorArgs]);
  const width = String(o.workers - 1).length;
  let restartsLeft = o.maxRestarts ?? 0;
  const startWorker = (id: string): void => {
    const child = group.spawn(id, process.execPath, [CLI_PATH, 'worker', '--nats', url!, '--run', o.runId, '--threads', String(threads), '--id', id, ...(o.workerArgs ?? [])]);
    void child.exited.then((exit) => {
      // A worker that died while the run goes on is replaced (it joins the next generation with a fresh process).
      if (exit.code === 0 || !coordinator.running() || interrupted > 0 || restartsLeft <= 0) return;
      restartsLeft--;
      o.log(`launch: worker ${id} exited with ${exit.code ?? exit.signal}; starting a replacement (${restartsLeft} restart(s) left)`);
      startWorker(id);
    });
  };
  for (let i = 0; i < o.workers; i++) startWorker(`w${String(i).padStart(width, '0')}`);
  o.log(`launch: coordinator and ${o.workers} worker(s) with ${threads} thread(s) each, run "${o.runId}"`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const exit = await coordinator.exited;
    await group.settle(grace);
    const failedWorkers = group.children.slice(1).filter((c) => c.process.exitCode !== 0 && !group.children.some((later) => later !== c && later.name === c.name && later.process.exitCode === 0));
    if (exit.code === 0 && failedWorkers.length > 0) o.log(`launch: warning: ${failedWorkers.map((c) => `${c.name} exited with ${c.process.exitCode ?? c.process.signalCode}`).join(', ')}`);
    return exit.code ?? 1;
  } finally {
    clearTimeout(forceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    group.killAll('SIGKILL');
    group.dispose();
    await nats?.stop();
  }
}

/** A run id for a launch: unique per launcher process and start time. */
export function launchRunId(): string {
  return `launch-${Date.now().toString(36)}-${process.pid}`;
}


