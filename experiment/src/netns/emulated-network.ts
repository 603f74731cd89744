import { spawnSync } from 'node:child_process';
import { ClusterError } from '@gradmesh/shared';
import type { LinkSpec } from '../scaling-results.js';
import { guardRouteCommand, setupCommands, teardownCommands, type Command } from './network-commands.js';
import { EMULATED_RANGE, ownerPid, type NetworkPlan } from './network-plan.js';

/** Bytes an interface has sent and received since it was created. */
export interface InterfaceBytes {
  readonly txBytes: number;
  readonly rxBytes: number;
}

/**
 * Whether this process can build emulated hosts: network namespaces, veth, bridges and tc need root
 * (CAP_NET_ADMIN and CAP_SYS_ADMIN for `ip netns`). Returns why not, for the one line the runner prints
 * before it falls back to loopback.
 */
export function namespacesUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux-only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, e.g. sudo, to emulate hosts and links)';
  const ip = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (ip.error !== undefined || ip.status !== 0) return `\`ip netns list\` failed (${ip.error?.message ?? ip.stderr.trim()}); install iproute2`;
  const tc = spawnSync('tc', ['-V'], { encoding: 'utf8' });
  if (tc.error !== undefined || tc.status !== 0) return '`tc` is missing; install iproute2';
  return undefined;
}

/** The emulated-host namespaces on this machine (ours and other runners'), by name. */
export function listOurNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout.split('\n').map((line) => line.split(' ')[0]!).filter((name) => ownerPid(name) !== undefined);
}

/**
 * The hosts and links of one run, built from a plan, and taken down again.
 *
 * Note [emulated network lifecycle]: while any of our namespaces exists, the root namespace has an
 * `unreachable` route for their range, so a process that mistakenly connects to 10.77.x.x from outside a
 * namespace fails at once, locally. `destroy` deletes the namespaces (which deletes their veths and queues)
 * and then the route — unless another live runner still has namespaces, whose guard it also is. Namespaces
 * left by a runner that was killed with -9 carry its pid in their prefix and are removed by the next runner
 * (`removeLeftovers`). Processes still inside a namespace are killed before it is deleted. `destroy` is idempotent and never throws: it runs on failure and on Ctrl-C.
 */
export class EmulatedNetwork {
  readonly plan: NetworkPlan;
  #up = true;

  private constructor(plan: NetworkPlan) {
    this.plan = plan;
  }

  static create(plan: NetworkPlan, link: LinkSpec): EmulatedNetwork {
    removeLeftovers();
    const net = new EmulatedNetwork(plan);
    try {
      if (!routeExists(plan.range)) run(guardRouteCommand('add', plan.range));
      for (const c of setupCommands(plan, link)) run(c);
    } catch (error) {
      net.destroy();
      throw error;
    }
    return net;
  }

  /**
   * Every host's link counters, read at once from the bridge side: a bridge port transmits what its host
   * receives and receives what its host sends.
   */
  counters(): Map<string, InterfaceBytes> {
    const r = spawnSync('ip', ['-n', this.plan.bridgeNamespace, '-j', '-s', 'link', 'show'], { encoding: 'utf8' });
    if (r.status !== 0) throw new ClusterError(`could not read the link counters of ${this.plan.bridgeNamespace}: ${r.stderr.trim()}`);
    const links = JSON.parse(r.stdout) as { ifname: string; stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[];
    const out = new Map<string, InterfaceBytes>();
    for (const h of this.plan.hosts) {
      const port = links.find((l) => l.ifname === h.bridgePort);
      if (port?.stats64 === undefined) throw new ClusterError(`bridge port ${h.bridgePort} of host ${h.name} has no counters`);
      out.set(h.name, { txBytes: port.stats64.rx.bytes, rxBytes: port.stats64.tx.bytes });
    }
    return out;
  }

  destroy(): void {
    if (!this.#up) return;
    this.#up = false;
    for (const h of this.plan.hosts) killNamespaceProcesses(h.namespace);
    for (const c of teardownCommands(this.plan)) runQuietly(c);
    removeGuardRouteIfUnused(this.plan.range);
  }
}

/** Deletes namespaces whose runner (the pid in their prefix) is gone, then the guard route if nothing needs it. */
export function removeLeftovers(): string[] {
  const removed: string[] = [];
  for (const name of listOurNamespaces()) {
    const pid = ownerPid(name)!;
    if (pid !== process.pid && !alive(pid)) {
      killNamespaceProcesses(name);
      runQuietly(['ip', 'netns', 'del', name]);
      removed.push(name);
    }
  }
  removeGuardRouteIfUnused(EMULATED_RANGE);
  return removed;
}

/**
 * SIGKILLs whatever still runs in a namespace: deleting a namespace's name does not end its processes, and a
 * process left inside would keep its interfaces (and the run's traffic) alive.
 */
function killNamespaceProcesses(namespace: string): void {
  const r = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' });
  if (r.status !== 0) return;
  for (const pid of r.stdout.split('\n').filter((l) => /^[0-9]+$/.test(l)).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

function removeGuardRouteIfUnused(range: string): void {
  if (listOurNamespaces().length === 0 && routeExists(range)) runQuietly(guardRouteCommand('del', range));
}

export function routeExists(range: string): boolean {
  const r = spawnSync('ip', ['route', 'show', 'type', 'unreachable', range], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(c: Command): void {
  const r = spawnSync(c[0], c.slice(1), { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new ClusterError(`\`${c.join(' ')}\` failed: ${r.error?.message ?? r.stderr.trim()}`, { hint: 'emulated hosts need root, iproute2 and the veth, bridge and sch_tbf kernel features' });
  }
}

function runQuietly(c: Command): void {
  spawnSync(c[0], c.slice(1), { encoding: 'utf8' });
}
