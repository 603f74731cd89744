import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterBlock, credentialsEnv, resolveNatsServer, startLocalNatsServer, withoutCredentialsEnv, type LocalNatsServer, type NatsCredentials } from '@gradmesh/transport';
import { freePort } from './free-port.js';
import { runIdentities, writeServerConfig, writeStatusSeed, type RunIdentities } from './run-identities.js';
import { writeFailedReport } from '../failed-report.js';
import { ChildGroup, type Child, type ChildExit } from './children.js';
import { parseStopReport, type StopReport } from './stop-report.js';
import { stopMessage } from '../stop-message.js';
import { availableCpus, boundCommand, formatCpuList, machineCpuBinding } from '@gradmesh/shared/internal';
import { withoutOptionVariables } from '../args.js';
import { coordinatorCommand } from '../coordinator-command.js';
import { workerCommand } from '../worker-command.js';

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
  /** With `natsUrl`: the identity the coordinator and workers connect with (handed over in their environment). */
  readonly credentials?: NatsCredentials;
  /** Start the local nats-server without authorization (Note [launch is authenticated]). */
  readonly insecure?: boolean;
  /**
   * 'hub' (default): one local nats-server for everyone. 'per-host': one nats-server per worker, clustered by
   * routes, each worker connected to its own (Note [launch per-host]).
   */
  readonly topology?: 'hub' | 'per-host';
  readonly runId: string;
  /** Compute threads per worker (default: max(1, floor(cores / N))). */
  readonly threads?: number;
  /** 'cores' (default): bind worker k to its own block of cores when the threads fit (Note [workers bound to cores]); 'none': let them float. */
  readonly cpuBind?: 'cores' | 'none';
  /** Extra coordinator flags, passed through verbatim (--report, --checkpoint-store, --resume, --epochs, …). */
  readonly coordinatorArgs: readonly string[];
  /** Extra worker flags (e.g. --heartbeat-timeout, --checkpoint-dir). */
  readonly workerArgs?: readonly string[];
  /** The coordinator's --report: written here with status "failed" when the coordinator could not write it. */
  readonly reportPath?: string;
  /** How long the workers get to exit after the coordinator has (default 15 s), before SIGKILL. */
  readonly graceMs?: number;
  /**
   * The `gradmesh …` arguments that resume this launch from the checkpoint the coordinator writes where the run
   * stops (--max-steps, Ctrl-C); undefined: that checkpoint does not outlive the launch, `notResumable` says why.
   */
  readonly resumeArgs?: readonly string[];
  readonly notResumable?: string;
  readonly log: (line: string) => void;
}

/** The gradmesh CLI entry (bin/gradmesh.js), relative to this file in src/ and in dist/ alike. */
export const CLI_PATH = fileURLToPath(new URL('../../../bin/gradmesh.js', import.meta.url));

export function defaultThreads(workers: number): number {
  return Math.max(1, Math.floor(availableCpus() / workers));
}

/**
 * `gradmesh launch`: the one-machine cluster. Starts nats-server with JetStream (unless given a URL; its store
 * lives in the launch's temporary directory), the coordinator and N workers as separate node processes of this
 * CLI, forwards their output, and ends them all.
 *
 * Note [launch lifecycle]: whenever `launch` returns, nothing it started is running:
 *   - normally: the coordinator exits (its code is ours), the workers follow its `shutdown`;
 *   - the coordinator dies without a shutdown (a signal): the workers are sent SIGTERM at once;
 *   - Ctrl-C / SIGTERM: the coordinator is interrupted (it tells the workers to stop); a second signal, or
 *     anything still running after the grace period, is SIGKILLed;
 *   - in every case the launcher then waits until each child has exited (SIGKILL after the grace period),
 *     stops nats-server last, after every client is gone, and removes its temporary directory;
 *   - the launcher itself killed with -9: every child notices (Note [children watch the launcher]) and
 *     exits; nats-server's watchdog stops it.
 *
 * Note [launch is authenticated]: the local nats-server listens on 127.0.0.1 only, but any local user or
 * process could still connect and speak for the run. So by default it starts with an authorization block of
 * fresh users for this run (run-identities.ts; Note [who may say what]): the coordinator's, and one per
 * worker id. The config (mode 0600) sits in the launch's temporary directory; each child gets its user and
 * password in its environment, never in argv. `--insecure` starts the server without authorization.
 *
 * Note [launch per-host]: `--topology per-host` starts one nats-server per worker on 127.0.0.1 (each on ports of
 * its own), clustered by authenticated routes (transport's clusterBlock), all with the same authorization;
 * worker i connects to server i, the coordinator to server 0. This is the layout of one server per machine
 * (a route carries each all-gather piece once per server, not once per subscriber), for trying the topology
 * on one machine; `gradmesh experiment scaling` measures it on emulated hosts. The servers run without
 * JetStream: a JetStream cluster needs a quorum before it answers, so this topology takes no NATS checkpoint
 * store and the coordinator goes on without its run-state record.
 */
export async function launch(o: LaunchOptions): Promise<number> {
  const started = Date.now();
  const servers: LocalNatsServer[] = [];
  let runDir: string | undefined;
  const group = new ChildGroup();
  const grace = o.graceMs ?? 15_000;
  let interrupted = 0;
  let forceTimer: NodeJS.Timeout | undefined;
  let coordinator: Child | undefined;
  /** Where the coordinator's run stopped before its end, as it reported (Note [a checkpoint at every stop]). */
  let stopped: StopReport | undefined;
  const spawnCoordinator = (args: readonly string[], env: NodeJS.ProcessEnv): Child => {
    const child = group.spawn('coordinator', process.execPath, args, env);
    child.process.on('message', (m) => (stopped = parseStopReport(m) ?? stopped));
    return child;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted++;
    if (interrupted === 1 && coordinator !== undefined) {
      o.log(`launch: ${signal}: stopping the run (again to kill everything)`);
      group.signal(coordinator, 'SIGINT');
      forceTimer = setTimeout(() => group.killAll('SIGKILL'), grace);
    } else {
      group.killAll('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let url = o.natsUrl;
    const width = String(o.workers - 1).length;
    const workerIds = Array.from({ length: o.workers }, (_, i) => `w${String(i).padStart(width, '0')}`);
    let identities: RunIdentities | undefined;
    if (url === undefined) {
      runDir = mkdtempSync(path.join(os.tmpdir(), `gradmesh-${o.runId}-`));
      let configFile: string | undefined;
      if (!o.insecure) {
        identities = runIdentities(o.runId, workerIds);
        configFile = path.join(runDir, 'nats-server.conf');
        writeServerConfig(configFile, identities);
      }
      const binary = resolveNatsServer(o.natsServer);
      const authorization = identities ? `authorization: a coordinator user and ${o.workers} worker user(s) for run "${o.runId}"` : 'no authorization (--insecure)';
      if (o.topology === 'per-host' && o.workers > 1) {
        servers.push(...(await startServerCluster(binary, runDir, workerIds, identities?.authorization ?? '')));
        o.log(`launch: ${servers.length} clustered nats-server ${servers[0]!.version} on ${servers.map((s) => s.url).join(', ')} (one per worker, no JetStream; ${authorization})`);
      } else {
        servers.push(await startLocalNatsServer(binary, { jetStreamDir: path.join(runDir, 'jetstream'), watchParent: true, removeOnExit: runDir, ...(configFile ? { configFile } : {}) }));
        o.log(`launch: nats-server ${servers[0]!.version} on ${servers[0]!.url} (JetStream in ${runDir}; ${authorization})`);
      }
      url = servers[0]!.url;
      if (identities !== undefined) {
        const seed = path.join(runDir, 'status.nk');
        writeStatusSeed(seed, identities);
        o.log(`launch: watch it with gradmesh status --nats ${url} --run ${o.runId} --nats-creds ${seed}`);
      }
    }
    // Each child gets exactly one identity, through its environment (Note [launch is authenticated]), and
    // its options as flags only (withoutOptionVariables).
    const base = withoutOptionVariables(withoutCredentialsEnv(process.env), [coordinatorCommand, workerCommand]);
    const envFor = (id: string | undefined): NodeJS.ProcessEnv => ({
      ...base,
      ...credentialsEnv(identities === undefined ? (o.natsUrl === undefined ? undefined : o.credentials) : id === undefined ? identities.coordinator : identities.workers.get(id)),
    });
    if (interrupted > 0) return 130;
    const range = o.minWorkers !== undefined && o.minWorkers !== o.workers ? `${o.minWorkers}:${o.workers}` : String(o.workers);
    const coordinatorArgs = [CLI_PATH, 'coordinator', '--nats', url, '--config', o.configPath, '--run', o.runId, '--workers', range, ...o.coordinatorArgs];
    coordinator = spawnCoordinator(coordinatorArgs, envFor(undefined));
    const threads = o.threads ?? defaultThreads(o.workers);
    let restartsLeft = o.maxRestarts ?? 0;
    // Note [workers bound to cores]: a replacement worker takes the block of the one it replaces.
    const binding = o.cpuBind === 'none' ? undefined : machineCpuBinding(o.workers, threads, availableCpus());
    if (binding !== undefined) {
      o.log(binding.bound
        ? `launch: workers bound to CPUs ${workerIds.map((id, k) => `${id}: ${formatCpuList(binding.sets[k]!)}`).join(', ')} (--cpu-bind none lets them float)`
        : `launch: workers not bound to CPUs: ${binding.reason}`);
    }
    const startWorker = (id: string): void => {
      const own = servers.length > 1 ? servers[workerIds.indexOf(id)]!.url : url!;
      const args = [CLI_PATH, 'worker', '--nats', own, '--run', o.runId, '--threads', String(threads), '--id', id, ...(o.workerArgs ?? [])];
      const start = binding?.bound ? boundCommand(binding.taskset!, binding.sets[workerIds.indexOf(id)]!, process.execPath, args) : { command: process.execPath, args };
      const child = group.spawn(id, start.command, start.args, envFor(id));
      void child.exited.then((exit) => {
        // A worker that died while the run goes on is replaced (it joins the next generation with a fresh process).
        if (exit.code === 0 || !coordinator!.running() || interrupted > 0 || restartsLeft <= 0) return;
        restartsLeft--;
        o.log(`launch: worker ${id} exited with ${exit.code ?? exit.signal}; starting a replacement (${restartsLeft} restart(s) left)`);
        startWorker(id);
      });
    };
    for (const id of workerIds) startWorker(id);
    o.log(`launch: coordinator and ${o.workers} worker(s) with ${threads} thread(s) each, run "${o.runId}"`);
    let exit = await coordinator.exited;
    // A coordinator killed by a signal (a crash, not our Ctrl-C) is replaced within the same restart budget: the
    // new one finds the run's record in JetStream KV and takes the run over (Note [taking over a run]).
    while (exit.signal !== null && interrupted === 0 && restartsLeft > 0) {
      restartsLeft--;
      o.log(`launch: the coordinator was killed by ${exit.signal}; starting a new one (${restartsLeft} restart(s) left)`);
      coordinator = spawnCoordinator(coordinatorArgs, envFor(undefined));
      exit = await coordinator.exited;
    }
    // A coordinator that died by a signal sent no shutdown: the workers would wait out their heartbeat timeout.
    if (exit.signal !== null) for (const c of group.others(coordinator)) group.signal(c, 'SIGTERM');
    await group.settle(grace);
    const failedWorkers = group.children.filter((c) => c.name !== 'coordinator').filter((c) => c.process.exitCode !== 0 && !group.children.some((later) => later !== c && later.name === c.name && later.process.exitCode === 0));
    if (exit.code === 0 && failedWorkers.length > 0) o.log(`launch: warning: ${failedWorkers.map((c) => `${c.name} exited with ${c.process.exitCode ?? c.process.signalCode}`).join(', ')}`);
    if (exit.code !== 0 && o.reportPath !== undefined) await reportFailure(o, exit, (Date.now() - started) / 1000);
    if (stopped !== undefined) {
      const resumable = stopped.checkpoint !== undefined && o.resumeArgs !== undefined;
      o.log(`launch: ${stopMessage(stopped, o.resumeArgs, resumable || stopped.checkpoint === undefined ? stopped.whyNothing : o.notResumable ?? stopped.whyNothing)}`);
    }
    return exit.code ?? 1;
  } finally {
    clearTimeout(forceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Normally a no-op: settle() has already reaped everyone. On an exception it is what stops the children.
    group.killAll('SIGKILL');
    await group.settle(grace);
    group.dispose();
    for (const s of servers) await s.stop();
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * One nats-server per worker on 127.0.0.1, a full mesh of authenticated routes (Note [launch per-host]). The
 * route ports are taken first, since every server's config names all of them.
 */
async function startServerCluster(binary: string, runDir: string, workerIds: readonly string[], authorization: string): Promise<LocalNatsServer[]> {
  const route = { user: 'route', password: randomBytes(24).toString('hex') };
  const routePorts: number[] = [];
  for (const _ of workerIds) routePorts.push(await freePort('127.0.0.1'));
  const servers: LocalNatsServer[] = [];
  try {
    for (const [i, id] of workerIds.entries()) {
      const file = path.join(runDir, `nats-server-${id}.conf`);
      const member = { serverName: `launch-${id}`, listen: `127.0.0.1:${routePorts[i]}`, peers: routePorts.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`) };
      writeFileSync(file, `${clusterBlock(member, route, 'gradmesh-launch')}${authorization}`, { mode: 0o600 });
      servers.push(await startLocalNatsServer(binary, { watchParent: true, configFile: file, ...(i === 0 ? { removeOnExit: runDir } : {}) }));
    }
  } catch (error) {
    for (const s of servers) await s.stop();
    throw error;
  }
  return servers;
}

/** The coordinator writes its failed report itself; this covers a coordinator that died before it could. */
async function reportFailure(o: LaunchOptions, exit: ChildExit, wallSeconds: number): Promise<void> {
  const file = o.reportPath!;
  try {
    const existing = JSON.parse(readFileSync(file, 'utf8')) as { runId?: unknown; status?: unknown };
    if (existing.runId === o.runId && existing.status === 'failed') return;
  } catch {
    // No report (or not ours): write one.
  }
  await writeFailedReport(file, {
    runId: o.runId,
    config: o.configPath,
    workers: o.workers,
    error: `the coordinator ${exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`} before writing its report`,
    wallSeconds,
  });
}

/** A run id for a launch: unique per launcher process and start time. */
export function launchRunId(): string {
  return `launch-${Date.now().toString(36)}-${process.pid}`;
}
