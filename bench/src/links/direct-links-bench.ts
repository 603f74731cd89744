import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dialPeer, framePoolStats, type LinkIdentity, PeerListener, releaseFrame } from '@gradmesh/transport';
import { probeCpuLoad } from '../backend/cpu-load.js';

/**
 * One-direction throughput of a direct link between two processes on loopback, and what it costs: CPU seconds
 * per GB (10^9 bytes) of the sender and of the receiver (process.cpuUsage, user + system, over the transfer).
 * For comparison with the NATS path measured on the same machine (publisher 0.15, subscriber 0.24, nats-server 1.60
 * CPU s/GB). Usage: node bench/dist/links/direct-links-bench.js [frames=1024] [frameBytes=1048576] [runs=3] [encryption=none]
 * where encryption is `none`, `tls` or both (`none,tls`: the modes alternate run by run, each with its own figures;
 * Note [encrypted links] in transport/src/direct-links/link-tls.ts).
 *
 * The parent forks a receiver and a sender, so neither end's CPU includes the other's; each run uses a fresh pair
 * of processes (warm-up: 64 frames before the measured ones, so JIT and the frame pool are warm). The sender keeps
 * at most SENDER_WINDOW_BYTES queued in its socket, as the all-reduce does with its `written` callbacks.
 */
const SENDER_WINDOW_BYTES = 8 << 20;
const WARMUP_FRAMES = 64;

type ToChild = { kind: 'listen'; identity: SerializedIdentity } | { kind: 'dial'; identity: SerializedIdentity; address: string; frames: number; frameBytes: number } | { kind: 'expect'; frames: number };
type FromChild =
  | { kind: 'listening'; address: string }
  | { kind: 'sent'; cpuUs: number; systemUs: number; ms: number }
  | { kind: 'received'; cpuUs: number; systemUs: number; ms: number; bytes: number; framesReused: number };
type SerializedIdentity = Omit<LinkIdentity, 'secret'> & { secret: string };

interface Run {
  readonly mbPerS: number;
  readonly senderCpuSPerGB: number;
  readonly receiverCpuSPerGB: number;
  /** The kernel's part (system time) of each: mostly the copy between user and socket buffers. */
  readonly senderSystemSPerGB: number;
  readonly receiverSystemSPerGB: number;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function systemUs(): number {
  return process.cpuUsage().system;
}

function decodeIdentity(s: SerializedIdentity): LinkIdentity {
  return { ...s, secret: Buffer.from(s.secret, 'hex') };
}

/** The receiving child: one link, counts frames, releases each, reports CPU from the first measured frame's arrival window. */
async function receiver(): Promise<void> {
  let listener: PeerListener | undefined;
  let expected = 0;
  process.on('message', async (m: ToChild) => {
    if (m.kind === 'listen') {
      listener = await PeerListener.open({ host: '127.0.0.1' });
      listener.accept(decodeIdentity(m.identity), (link) => {
        let count = 0;
        let bytes = 0;
        let startCpu = 0;
        let startSystem = 0;
        let startMs = 0;
        link.onFrame((frame) => {
          count += 1;
          if (count === WARMUP_FRAMES) {
            startCpu = cpuUs();
            startSystem = systemUs();
            startMs = performance.now();
          } else if (count > WARMUP_FRAMES) bytes += frame.byteLength;
          releaseFrame(frame);
          if (count === WARMUP_FRAMES + expected) {
            process.send!({ kind: 'received', cpuUs: cpuUs() - startCpu, systemUs: systemUs() - startSystem, ms: performance.now() - startMs, bytes, framesReused: framePoolStats().reused } satisfies FromChild);
          }
        });
      });
      process.send!({ kind: 'listening', address: listener.address } satisfies FromChild);
    } else if (m.kind === 'expect') expected = m.frames;
  });
}

/** The sending child: dials, sends warm-up then measured frames of one reused buffer, windowed by `written`. */
async function sender(): Promise<void> {
  process.on('message', async (m: ToChild) => {
    if (m.kind !== 'dial') return;
    const link = await dialPeer(m.address, decodeIdentity(m.identity), 1);
    const payload = randomBytes(m.frameBytes);
    const total = WARMUP_FRAMES + m.frames;
    let queued = 0;
    let written = 0;
    let startCpu = 0;
    let startSystem = 0;
    let startMs = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (queued < total && (queued - written) * m.frameBytes < SENDER_WINDOW_BYTES) {
          if (queued === WARMUP_FRAMES) {
            startCpu = cpuUs();
            startSystem = systemUs();
            startMs = performance.now();
          }
          queued += 1;
          link.send([payload], onWritten);
        }
      };
      const onWritten = (): void => {
        written += 1;
        if (written === total) resolve();
        else pump();
      };
      pump();
    });
    process.send!({ kind: 'sent', cpuUs: cpuUs() - startCpu, systemUs: systemUs() - startSystem, ms: performance.now() - startMs } satisfies FromChild);
  });
}

function nextMessage<K extends FromChild['kind']>(child: ChildProcess, kind: K): Promise<Extract<FromChild, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromChild): void => {
      if (m.kind !== kind) return;
      child.off('message', onMessage);
      resolve(m as Extract<FromChild, { kind: K }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`bench child exited with ${code} before '${kind}'`)));
  });
}

async function oneRun(frames: number, frameBytes: number, encryption: 'none' | 'tls'): Promise<Run> {
  const entry = fileURLToPath(import.meta.url);
  const recv = fork(entry, ['receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const send = fork(entry, ['sender'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const secret = randomBytes(32).toString('hex');
    const base = { runId: 'bench-links', generation: 1, worldSize: 2, secret, encryption };
    recv.send({ kind: 'expect', frames } satisfies ToChild);
    const listening = nextMessage(recv, 'listening');
    recv.send({ kind: 'listen', identity: { ...base, rank: 1 } } satisfies ToChild);
    const { address } = await listening;
    const received = nextMessage(recv, 'received');
    const sent = nextMessage(send, 'sent');
    send.send({ kind: 'dial', identity: { ...base, rank: 0 }, address, frames, frameBytes } satisfies ToChild);
    const [r, s] = await Promise.all([received, sent]);
    const gb = r.bytes / 1e9;
    return { mbPerS: r.bytes / 1e6 / (r.ms / 1e3), senderCpuSPerGB: s.cpuUs / 1e6 / gb, receiverCpuSPerGB: r.cpuUs / 1e6 / gb, senderSystemSPerGB: s.systemUs / 1e6 / gb, receiverSystemSPerGB: r.systemUs / 1e6 / gb };
  } finally {
    recv.kill();
    send.kill();
  }
}

function spread(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  const digits = median >= 100 ? 0 : 3;
  return `median ${median.toFixed(digits)} (min ${s[0]!.toFixed(digits)}, max ${s[s.length - 1]!.toFixed(digits)})`;
}

async function main(): Promise<void> {
  const [frames = 1024, frameBytes = 1 << 20, runs = 3] = process.argv.slice(2, 5).map(Number);
  const modes = (process.argv[5] ?? 'none').split(',');
  for (const m of modes) if (m !== 'none' && m !== 'tls') throw new Error(`encryption must be none, tls or none,tls (got ${JSON.stringify(process.argv[5])})`);
  const loadBefore = await probeCpuLoad();
  const results = new Map<string, Run[]>(modes.map((m) => [m, []]));
  for (let i = 0; i < runs; i++) for (const m of modes) results.get(m)!.push(await oneRun(frames, frameBytes, m as 'none' | 'tls'));
  const loadAfter = await probeCpuLoad();
  console.log(`direct link, one direction over loopback: ${frames} frames of ${frameBytes} B per run, ${runs} runs${modes.length > 1 ? ` of each mode, alternating` : ''}`);
  console.log(`cpu load (parallelCapacity): before ${loadBefore.parallelCapacity}, after ${loadAfter.parallelCapacity}`);
  for (const [mode, rs] of results) {
    if (modes.length > 1 || mode !== 'none') console.log(`encryption ${mode}:`);
    console.log(`throughput MB/s:       ${spread(rs.map((r) => r.mbPerS))}`);
    console.log(`sender CPU s/GB:       ${spread(rs.map((r) => r.senderCpuSPerGB))}`);
    console.log(`receiver CPU s/GB:     ${spread(rs.map((r) => r.receiverCpuSPerGB))}`);
    console.log(`  of it system time:   sender ${spread(rs.map((r) => r.senderSystemSPerGB))}, receiver ${spread(rs.map((r) => r.receiverSystemSPerGB))}`);
  }
  console.log(JSON.stringify({ frames, frameBytes, loadBefore, loadAfter, runs: modes.length === 1 ? results.get(modes[0]!) : Object.fromEntries(results) }));
}

const role = process.argv[2];
if (role === 'receiver') void receiver();
else if (role === 'sender') void sender();
else
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
