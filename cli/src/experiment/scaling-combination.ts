import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterError } from '@gradmesh/shared/internal';
import { credentialsEnv, withoutCredentialsEnv } from '@gradmesh/transport';
import {
  clientUrl,
  EmulatedNetwork,
  inNamespace,
  namespacePrefix,
  parseStepTimings,
  planNetwork,
  processCpuSeconds,
  serverBytes,
  serverConfig,
  serverCount,
  serverForWorker,
  stepFigures,
  workerIds,
  type InterfaceBytes,
  type LinkSpec,
  type ScalingRun,
  type ServerEndpoint,
  type Topology,
} from '@gradmesh/experiment';
import { ChildGroup, type Child } from '../launch/children.js';
import { freePort } from '../launch/free-port.js';
import { CLI_PATH } from '../launch/launcher.js';
import { runIdentities } from '../launch/run-identities.js';
import { ProcessLog } from './process-log.js';

export interface CombinationOptions {
  readonly configPath: string;
  readonly globalBatchSize: number;
  readonly workers: number;
  readonly topology: Topology;
  /** The links as shaped (netns) — on loopback nothing is shaped and the run records an unshaped link. */
  readonly link: LinkSpec;
  readonly network: 'netns' | 'loopback';
  readonly warmupSteps: number;
  readonly steps: number;
  readonly threads: number;
  readonly natsServer: string;
  /** The processes' output goes here. */
  readonly logFile: string;
  readonly progress: (line: string) => void;
  /** Aborted on Ctrl-C: the combination stops and tears everything down. */
  readonly signal: AbortSignal;
}

/** Where one server runs: its endpoint and, with netns, its host's namespace. */
interface PlacedServer {
  readonly endpoint: ServerEndpoint;
  readonly namespace: string | undefined;
}

/** One reading of everything measured over the run's steps: at the start and at the end of the measured steps. */
interface Snapshot {
  readonly stepsDone: number;
  readonly bytes: Map<string, InterfaceBytes>;
  readonly cpu: Map<string, number>;
}

const POLL_MS = 5;
const SERVER_READY_MS = 20_000;

/**
 * One measured combination (N workers, a topology, a link): builds the hosts (netns) or uses loopback, starts
 * the nats-server(s), the coordinator and N workers of the real CLI, lets the run take `warmupSteps` steps,
 * measures the next `steps`, then stops everything.
 *
 * Note [what a measurement window is]: the coordinator appends each step's timing to a file as the step
 * completes (`--step-timings`). The runner follows it; when W lines are in it reads every counter (link bytes,
 * CPU of every process), and again when W + K are. Step figures come from exactly lines W…W+K−1. The counters
 * are read while the run goes on (the next step has begun; reading them takes a few ms, more on a loaded
 * machine), so each reading is dated by the steps done just before and just after it, averaged; bytes and CPU
 * are divided by the steps between the two readings and scaled to K. A late or slow reading then neither
 * adds nor loses a step's worth (at most half a step at each end). What the dating cannot see is the work in
 * flight: when line W is written the workers are already in step W + 1 (it was sent ahead and starts during
 * W's update), so each reading holds between none and about one step of it. Bytes per step are therefore
 * exact to within ±2 steps over the window: ±4 % at the default K = 50, ±10 % at K = 20.
 *
 * The coordinator gets no --max-steps: a run that ended by itself between two polls would leave the window
 * without its end reading. The runner stops it with SIGINT once the window is read.
 *
 * Note [experiment authorization]: the servers get launch's authorization block (run-identities.ts: a user per
 * worker and one for the coordinator, each allowed only its subjects, fresh passwords for this combination),
 * and routes between servers authenticate with a route user of their own (server-plan.ts). Inside
 * namespaces nothing else could reach the servers anyway; on loopback this is what keeps other local users out.
 */
export async function runCombination(o: CombinationOptions): Promise<ScalingRun> {
  const runId = `scaling-${o.workers}-${o.topology}-${Date.now().toString(36)}`;
  const ids = workerIds(o.workers);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-scaling-'));
  const log = new ProcessLog(o.logFile);
  const group = new ChildGroup(log, log);
  let net: EmulatedNetwork | undefined;
  const aborted = () => {
    if (o.signal.aborted) throw new ClusterError('interrupted', { hint: 'everything it started has been stopped' });
  };
  try {
    // Hosts and servers.
    let servers: PlacedServer[];
    let workerNamespaces: (string | undefined)[];
    let coordinatorNamespace: string | undefined;
    if (o.network === 'netns') {
      const plan = planNetwork(namespacePrefix(process.pid), o.workers, o.topology);
      net = EmulatedNetwork.create(plan, o.link);
      servers = plan.hosts.filter((h) => h.runsServer).map((h) => ({ endpoint: { host: h.name, address: h.address, clientPort: 4222, clusterPort: 6222 }, namespace: h.namespace }));
      workerNamespaces = ids.map((id) => plan.hosts.find((h) => h.workerIds.includes(id))!.namespace);
      coordinatorNamespace = plan.hosts.find((h) => h.runsCoordinator)!.namespace;
    } else {
      const count = serverCount(o.topology, o.workers);
      servers = [];
      for (let i = 0; i < count; i++) {
        const host = o.topology === 'hub' ? 'nats' : ids[i]!;
        servers.push({ endpoint: { host, address: '127.0.0.1', clientPort: await freePort('127.0.0.1'), clusterPort: await freePort('127.0.0.1'), monitorPort: await freePort('127.0.0.1') }, namespace: undefined });
      }
      workerNamespaces = ids.map(() => undefined);
      coordinatorNamespace = undefined;
    }
    const wrap = (namespace: string | undefined, argv: readonly string[]) => (namespace === undefined ? argv : inNamespace(namespace, argv));
    const spawnIn = (name: string, namespace: string | undefined, argv: readonly string[], env: NodeJS.ProcessEnv): Child => {
      const full = wrap(namespace, argv);
      return group.spawn(name, full[0]!, full.slice(1), env);
    };

    const identities = runIdentities(runId, ids);
    const route = { user: 'route', password: randomBytes(24).toString('hex') };
    const endpoints = servers.map((s) => s.endpoint);
    const serverChildren: Child[] = [];
    for (const s of servers) {
      const file = path.join(tmp, `nats-${s.endpoint.host}.conf`);
      writeFileSync(file, serverConfig(s.endpoint, endpoints, identities.authorization, route), { mode: 0o600 });
      serverChildren.push(spawnIn(`nats-${s.endpoint.host}`, s.namespace, [o.natsServer, '-c', file], process.env));
    }
    for (const s of servers) {
      const name = `nats-${s.endpoint.host}`;
      if (!(await log.until(name, (lines) => lines.some((l) => l.includes('Server is ready')), SERVER_READY_MS))) {
        throw new ClusterError(`nats-server on host ${s.endpoint.host} did not start within ${SERVER_READY_MS / 1000} s: ${log.tail(name)}`, { hint: `see ${o.logFile}` });
      }
    }
    // A cluster is usable once every server has its routes; a worker's join sent earlier could miss the coordinator.
    if (servers.length > 1) {
      for (const s of servers) {
        const name = `nats-${s.endpoint.host}`;
        const routed = await log.until(name, (lines) => lines.filter((l) => l.includes('Route connection created')).length >= servers.length - 1, SERVER_READY_MS);
        if (!routed) throw new ClusterError(`nats-server on host ${s.endpoint.host} has not connected its routes within ${SERVER_READY_MS / 1000} s: ${log.tail(name)}`, { hint: `see ${o.logFile}` });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    aborted();

    // The run.
    const timingsFile = path.join(tmp, 'step-timings.jsonl');
    const base = withoutCredentialsEnv(process.env);
    const coordinatorUrl = clientUrl(endpoints[0]!);
    const total = o.warmupSteps + o.steps;
    const coordinator = spawnIn(
      'coordinator',
      coordinatorNamespace,
      [process.execPath, CLI_PATH, 'coordinator', '--nats', coordinatorUrl, '--config', o.configPath, '--run', runId, '--workers', String(o.workers),
        '--step-timings', timingsFile, '--checksum-every', String(total + 1), '--join-timeout', '120', '--step-timeout', '120', '--heartbeat-timeout', '30'],
      { ...base, ...credentialsEnv(identities.coordinator) },
    );
    const workers = ids.map((id, i) =>
      spawnIn(id, workerNamespaces[i], [process.execPath, CLI_PATH, 'worker', '--nats', clientUrl(serverForWorker(o.topology, i, endpoints)), '--run', runId, '--id', id, '--threads', String(o.threads), '--heartbeat-timeout', '30'], {
        ...base,
        ...credentialsEnv(identities.workers.get(id)),
      }),
    );

    const stepsDoneNow = () => parseStepTimings(readFileSync(timingsFile, 'utf8')).length;
    const snapshot = async (): Promise<Snapshot> => {
      const before = stepsDoneNow();
      const bytes = new Map<string, InterfaceBytes>();
      if (net !== undefined) for (const [host, b] of net.counters()) bytes.set(host, b);
      else for (const s of endpoints) bytes.set(s.host, await serverBytes(`http://${s.address}:${s.monitorPort}`, o.topology === 'per-host'));
      const cpu = new Map<string, number>();
      const add = (role: string, c: Child) => cpu.set(role, (cpu.get(role) ?? 0) + (c.process.pid === undefined ? 0 : processCpuSeconds(c.process.pid) ?? 0));
      for (const w of workers) add('worker', w);
      add('coordinator', coordinator);
      for (const s of serverChildren) add('nats-server', s);
      // The steps done while the counters were read count half (Note [what a measurement window is]).
      return { stepsDone: (before + stepsDoneNow()) / 2, bytes, cpu };
    };

    // Follow the step timings (Note [what a measurement window is]).
    let lastSize = -1;
    let lines: ReturnType<typeof parseStepTimings> = [];
    let start: Snapshot | undefined;
    let end: Snapshot | undefined;
    let lastReport = Date.now();
    while (end === undefined) {
      aborted();
      if (!coordinator.running()) {
        throw new ClusterError(`the coordinator exited (${coordinator.process.exitCode ?? coordinator.process.signalCode}) after ${lines.length} of ${total} steps: ${log.tail('coordinator')}`, { hint: `see ${o.logFile}; a run shorter than --warmup + --steps needs more epochs in its config` });
      }
      const dead = workers.find((w) => !w.running());
      if (dead !== undefined) throw new ClusterError(`worker ${dead.name} exited (${dead.process.exitCode ?? dead.process.signalCode}) after ${lines.length} of ${total} steps: ${log.tail(dead.name)}`, { hint: `see ${o.logFile}` });
      const size = fileSize(timingsFile);
      if (size !== lastSize) {
        lastSize = size;
        lines = parseStepTimings(readFileSync(timingsFile, 'utf8'));
        if (start === undefined && lines.length >= o.warmupSteps) start = await snapshot();
        if (start !== undefined && lines.length >= total) end = await snapshot();
      }
      if (Date.now() - lastReport >= 3_000) {
        lastReport = Date.now();
        o.progress(lines.length < o.warmupSteps ? `warm-up ${lines.length}/${o.warmupSteps}` : `measuring ${lines.length - o.warmupSteps}/${o.steps}`);
      }
      if (end === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
    }

    // Stop the run: the coordinator tells the workers; the servers go last.
    group.signal(coordinator, 'SIGINT');
    await Promise.race([Promise.all([coordinator.exited, ...workers.map((w) => w.exited)]), new Promise((r) => setTimeout(r, 15_000))]);
    for (const s of serverChildren) group.signal(s, 'SIGTERM');
    await group.settle(5_000);

    const figures = stepFigures(lines.slice(o.warmupSteps, total));
    const window = Math.max(1, end.stepsDone - start!.stepsDone);
    const scale = o.steps / window;
    const linkBytes = [...end.bytes].map(([host, b]) => {
      const a = start!.bytes.get(host)!;
      return { host, txBytes: Math.round((b.txBytes - a.txBytes) * scale), rxBytes: Math.round((b.rxBytes - a.rxBytes) * scale) };
    });
    const cpuSecondsPerRole = Object.fromEntries([...end.cpu].map(([role, seconds]) => [role, +(Math.max(0, seconds - (start!.cpu.get(role) ?? 0)) * scale).toFixed(3)]));
    return {
      workers: o.workers,
      topology: o.topology,
      link: o.network === 'netns' ? o.link : { rateBitsPerSec: null, delaySeconds: o.link.delaySeconds },
      network: o.network,
      warmupSteps: o.warmupSteps,
      steps: o.steps,
      globalBatchSize: o.globalBatchSize,
      threadsPerWorker: o.threads,
      samplesPerSec: figures.samplesPerSec,
      stepSeconds: figures.stepSeconds,
      computeSeconds: figures.computeSeconds,
      allreduceSeconds: figures.allreduceSeconds,
      exposedAllreduceSeconds: figures.exposedAllreduceSeconds,
      waitSeconds: figures.waitSeconds,
      linkBytes,
      cpuSecondsPerRole,
    };
  } finally {
    group.killAll('SIGKILL');
    await group.settle(5_000);
    group.dispose();
    net?.destroy();
    await log.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1; // not created yet: the same as the initial nothing-read
  }
}
