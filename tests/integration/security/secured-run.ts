import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { PermissionViolationError, type NatsConnection } from '@nats-io/nats-core';
import { Packr } from 'msgpackr';
import { pieceHeaderBytes, type PieceHeader } from '../../../shared/src/protocol/pieces.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import { authorizationBlock, type ServerUser } from '../../../transport/src/nats-server/authorization-config.js';
import { Proc, type ClusterHarness } from '../cluster/harness.js';

/**
 * What the security tests share: a nats-server of their own with an authorization block (the identities of
 * one or two runs, each with the permissions of its role), processes that get their identity through the
 * environment as `launch` gives it, forged messages built byte for byte (no validator in the way: an attacker
 * does not use ours), and a sampler of a process's resident memory.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface SecuredServer {
  readonly url: string;
  readonly port: number;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A nats-server on 127.0.0.1 with JetStream and `extraConfig` (e.g. the authorization block, a tls block),
 * under `h`'s directory; resolves once it is ready.
 */
export async function startServer(h: ClusterHarness, name: string, extraConfig: string, scheme = 'nats'): Promise<SecuredServer> {
  const port = await freePort();
  const conf = h.path(`${name}.conf`);
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(h.path(`${name}-js`))} }\n${extraConfig}\n`, { mode: 0o600 });
  const child: ChildProcess = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  // The log is kept bounded (its first 1 MB and its last 1 MB): a flood of refused publishes is logged once per message.
  let head = '';
  const tail: string[] = [];
  let tailBytes = 0;
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    if (head.length < 1_000_000) head += text;
    else {
      tail.push(text);
      tailBytes += text.length;
      while (tailBytes > 1_000_000 && tail.length > 1) tailBytes -= tail.shift()!.length;
    }
  });
  const log = () => head + tail.join('');
  for (let i = 0; i < 400 && !/Server is ready/.test(log()) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  if (!/Server is ready/.test(log())) throw new Error(`nats-server did not start: ${log()}`);
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Password users → the server's authorization block (the same writer `launch` uses). */
export function authorization(users: readonly ServerUser[]): string {
  return authorizationBlock(users);
}

/** A `gradmesh <args>` process of the built CLI whose NATS identity comes from the environment, as launch gives it. */
export function spawnWithIdentity(h: ClusterHarness, name: string, args: readonly string[], identity: { user: string; pass: string } | undefined, extraEnv: NodeJS.ProcessEnv = {}): Proc {
  const env: NodeJS.ProcessEnv = { ...h.env, ...extraEnv };
  for (const k of Object.keys(env)) if (k.startsWith('GRADMESH_NATS_')) delete env[k];
  if (identity !== undefined) Object.assign(env, { GRADMESH_NATS_USER: identity.user, GRADMESH_NATS_PASS: identity.pass });
  Object.assign(env, extraEnv);
  const p = new Proc(name, args, h.dir, env);
  h.procs.push(p);
  return p;
}

// ---- forged messages ---------------------------------------------------------------------------------------

/** Plain msgpack, like the codec's (maps with string keys), but without any validation of what is packed. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** A control envelope `{ v, run, kind, from, gen, body }` with whatever body the caller wants. */
export function forgedControl(run: string, kind: string, from: string, gen: number, body: unknown): Uint8Array {
  return packr.pack({ v: PROTOCOL_VERSION, run, kind, from, gen, body });
}

/** Any value as msgpack (for the fuzzer's envelopes with random fields). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** A piece frame: the 16-byte header, then `values` as little-endian float32. */
export function forgedPiece(header: PieceHeader, values: Float32Array): Uint8Array {
  const frame = new Uint8Array(16 + values.byteLength);
  frame.set(pieceHeaderBytes(header), 0);
  frame.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 16);
  return frame;
}

// ---- observing ---------------------------------------------------------------------------------------------

/** Collects the permission errors the server reports to `nc` (async -ERR, seen on its status iterator). */
export function watchViolations(nc: NatsConnection): { readonly seen: Set<string>; count(): number; stop(): Promise<void> } {
  // Distinct messages only (a flood of refused publishes to one subject is one entry) and a count of all.
  const seen = new Set<string>();
  let count = 0;
  const iterator = nc.status();
  const done = (async () => {
    for await (const s of iterator) {
      if (s.type !== 'error' || !(s.error instanceof PermissionViolationError)) continue;
      count++;
      seen.add(s.error.message);
    }
  })();
  return {
    seen,
    count: () => count,
    stop: async () => {
      (iterator as unknown as { stop(): void }).stop();
      await done.catch(() => undefined);
    },
  };
}

/** VmRSS of a live process in bytes (Linux /proc), or undefined once it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples the resident memory of `pids` every `everyMs` and keeps each one's highest sample, so growth is
 * measured even if a process exits before the test looks.
 */
export function sampleResident(pids: readonly number[], everyMs = 100): { peak(pid: number): number; stop(): void } {
  const peaks = new Map<number, number>();
  const take = () => {
    for (const pid of pids) {
      const rss = residentBytes(pid);
      if (rss !== undefined) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, rss));
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return { peak: (pid) => peaks.get(pid) ?? 0, stop: () => clearInterval(timer) };
}

/** Sum of every count in a report's `droppedMessages`, whatever its nesting (per kind/reason, or per process). */
export function totalDrops(dropped: unknown): number {
  if (typeof dropped === 'number') return dropped;
  if (dropped !== null && typeof dropped === 'object') return Object.values(dropped).reduce<number>((sum, v) => sum + totalDrops(v), 0);
  return 0;
}
