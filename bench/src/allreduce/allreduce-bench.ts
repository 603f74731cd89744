import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ClusterError, ConfigError, type Compression } from '@gradmesh/shared/internal';
import { startLocalNatsServer } from '@gradmesh/transport';
import { overLinks, type BenchLinks, type BenchTransport, type ChildReply, type ParentCommand, type SharedMemoryFrames } from './ipc.js';
import { processCpuMs } from './cpu-time.js';
import { probeCpuLoad, type CpuLoad } from '../backend/cpu-load.js';
import { median } from './median.js';
import { bestCeilingFraction, memoryCeilingFraction, type NecessaryWork } from './necessary-work.js';

/**
 * `gradmesh bench allreduce`: in ONE run, (1) the single-stream NATS bandwidth — one publisher process to one
 * subscriber process, 1 MiB messages — as the baseline, and (2) for each N and size the time of the rsag
 * all-reduce across N worker PROCESSES (each with its own connection, as in training). The figure of merit is
 * busbw = 2(N−1)/N · bytes / time (the bytes each rank must move in and out for any all-reduce), divided by
 * the single-stream baseline measured minutes earlier on the same server and machine, since this host's
 * throughput varies by ±30 % between runs.
 */
export interface AllreduceBenchOptions {
  readonly workers: number[];
  /** Vector sizes in MB (10^6 bytes of float32). */
  readonly mb: number[];
  /** Use this server instead of starting a nats-server child on 127.0.0.1. */
  readonly natsUrl?: string;
  /** nats-server binary to start (default GRADMESH_NATS_SERVER or `nats-server` from PATH). */
  readonly natsServer?: string;
  /** Timed repeats per (N, size), after 2 warm-up runs (default 5). */
  readonly repeats?: number;
  /** Piece encodings to measure (default ['none']); bf16/fp16 send half the bytes (training.allreduce.compression). */
  readonly compression?: Compression[];
  /** Data paths to measure (default ['nats']): through nats-server, or over direct links between the ranks. */
  readonly transport?: BenchTransport[];
  /** Back-to-back all-reduces (and round trips) timed per small vector (≤ 1 MB), after a warm-up (default 300). */
  readonly latencySteps?: number;
  /** Write the result as JSON to this file. */
  readonly json?: string;
  readonly log?: (line: string) => void;
  /** Compiled child entry (default: allreduce-child.js next to this module, or in bench/dist/allreduce). */
  readonly childEntry?: string;
}

export interface AllreduceBenchRow {
  readonly workers: number;
  readonly mb: number;
  /** How pieces travelled; algbw and busbw count the float32 bytes reduced, whatever the wire carried. */
  readonly compression: Compression;
  readonly transport: BenchTransport;
  /** Median / min / max over repeats of the slowest rank's all-reduce time. */
  readonly ms: number;
  readonly msMin: number;
  readonly msMax: number;
  readonly algbwMBps: number;
  readonly busbwMBps: number;
  /** busbw / single-stream bandwidth. */
  readonly busbwRatio: number;
  /** Every rank ended with the same bits. */
  readonly replicasAgree: boolean;
  /** Mean CPU time per timed all-reduce: all ranks together, and nats-server (undefined off Linux / external server). */
  readonly cpuMsRanks: number;
  readonly cpuMsServer: number | undefined;
  /** The part of cpuMsRanks that moving the minimum bytes accounts for (`minimumRanksCpuMs`). */
  readonly cpuMsRanksMinimum: number;
  /** Garbage-collector pauses of all ranks together per all-reduce, wall time (on a quiet machine, part of cpuMsRanks). */
  readonly gcMsRanks: number;
  /** The busy-loop probe right after the row: the ceiling assumes both cores, so a row with much less is not comparable. */
  readonly parallelCapacityAfter: number;
  /**
   * The busbw / single-stream ratio an ideal all-reduce could reach here (Note [the CPU ceiling]); undefined
   * when the server's CPU time cannot be read.
   */
  readonly ceilingRatio: number | undefined;
  /**
   * Uncompressed rows: the CPU of the sums and the landing every all-reduce of this size must do besides moving
   * its bytes, and the highest measured ÷ ceiling that work leaves on fully busy cores (Note [work besides the bytes]).
   */
  readonly necessaryWork?: NecessaryWork;
  readonly bestCeilingFraction?: number;
  /** Direct rows: the same bytes all-to-all between the N rank processes with no all-reduce work (Note [the links' all-to-all]). */
  readonly linkMesh?: LinkMeshCost;
  /** Direct rows: the highest measured ÷ ceiling left by the all-to-all's cost plus the sums and landing (fully busy cores). */
  readonly bestCeilingFractionAllToAll?: number;
  /** cpuMsRanks split into user and system time (the reset before each run left out of user). */
  readonly cpuMsRanksUser?: number;
  readonly cpuMsRanksSystem?: number;
  /** Direct uncompressed rows: the all-to-all's user and system CPU ms per run (it sends `linkMesh`'s bytes, ≈ the all-reduce's). */
  readonly linkMeshUserMs?: number;
  readonly linkMeshSystemMs?: number;
  /** `shm` rows: measured against an all-reduce that only sums and lands (Note [the memory ceiling] in necessary-work.ts). */
  readonly memoryCeilingFraction?: number;
  /** `shm` rows: all ranks' frames through memory and over the links in the row (warm-up included). */
  readonly sharedMemoryFrames?: SharedMemoryFrames;
}

/** What the links' all-to-all cost (Note [the links' all-to-all]): all ranks' CPU per GB sent (covering its receipt too), MB/s sent by all. */
export interface LinkMeshCost {
  readonly mbps: number;
  readonly cpuSecPerGB: number;
  /** At that cost, the CPU ms of one all-reduce's bytes (2(N−1)·S sent in all). */
  readonly cpuMs: number;
}

/** A small vector's latency (Note [the round-trip baseline]). */
export interface AllreduceLatencyRow {
  readonly workers: number;
  readonly mb: number;
  readonly compression: Compression;
  readonly transport: BenchTransport;
  /** Median / 10th / 90th percentile over the timed steps of the slowest rank's time per step. */
  readonly ms: number;
  readonly msP10: number;
  readonly msP90: number;
  /** CPU time of all ranks together per all-reduce (user + system, over the timed steps). */
  readonly cpuMsRanks: number;
  /** Median / 10th / 90th percentile of one round trip of the same size (S bytes out, S bytes back). */
  readonly roundTripMs: number;
  readonly roundTripP10: number;
  readonly roundTripP90: number;
  /** CPU time of the pinger and the echo together per round trip. */
  readonly roundTripCpuMs: number;
  readonly replicasAgree: boolean;
}

/** CPU seconds each role spent per GB moved in the single-stream reference (how CPU-bound the box is). */
export interface SingleStreamCpu {
  readonly publisherSecPerGB: number;
  readonly subscriberSecPerGB: number;
  readonly serverSecPerGB: number | undefined;
}

/** The same for the direct links' single stream (one sender process → one receiver process over one link). */
export interface LinkStreamCpu {
  readonly senderSecPerGB: number;
  readonly receiverSecPerGB: number;
}

export interface AllreduceBenchResult {
  /** The single stream is the baseline of the bandwidth rows: measured only when some size is above 1 MB. */
  readonly singleStreamMBps: number | undefined;
  readonly singleStreamRunsMBps: number[];
  readonly singleStreamCpu: SingleStreamCpu | undefined;
  /** The direct links' single stream, measured when `direct` is among the transports and some size is above 1 MB. */
  readonly linkStreamMBps: number | undefined;
  readonly linkStreamCpu: LinkStreamCpu | undefined;
  readonly results: AllreduceBenchRow[];
  /** Sizes ≤ SMALL_VECTOR_MAX_MB: latency against the round trip. */
  readonly latency: AllreduceLatencyRow[];
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly totalMemGiB: number;
    readonly node: string;
    readonly natsServer: string;
    /** 1/5/15-minute load averages at the start and at the end. */
    readonly loadBefore: number[];
    readonly loadAfter: number[];
    /** The busy-loop probe (2 ≈ two free cores) at the start and at the end. */
    readonly cpuLoadBefore: CpuLoad;
    readonly cpuLoadAfter: CpuLoad;
  };
}

/**
 * Note [the CPU ceiling]
 * On one small machine every byte of an all-reduce costs CPU three times — in the publishing rank, in
 * nats-server, in the receiving rank — and all of them share the same cores, so the all-reduce is CPU-bound, not
 * link-bound. Any all-reduce through one server must publish N·S bytes in total (reduce-scatter (N−1)/N·S per
 * rank, plus each reduced chunk once, fanned out by the server) and deliver 2(N−1)·S. The ceiling charges
 * exactly those bytes at the per-GB client costs measured in the single stream, adds the server CPU the
 * all-reduce actually used, spreads the sum over every core with nothing idle, and turns the resulting time
 * into busbw / single stream. No algorithm on this machine, server and client can beat it; the distance
 * between it and the measured ratio is what the all-reduce itself still wastes.
 */
export function ceilingRatio(n: number, bytes: number, serverCpuMs: number | undefined, cpu: SingleStreamCpu, singleMBps: number, cores: number): number | undefined {
  if (serverCpuMs === undefined) return undefined;
  const ms = (minimumRanksCpuMs(n, bytes, cpu) + serverCpuMs) / cores;
  const busbw = (((2 * (n - 1)) / n) * bytes) / 1e6 / (ms / 1e3);
  return busbw / singleMBps;
}

/**
 * Note [the CPU ceiling of direct links]
 * Over direct links there is no server: every rank sends and receives 2(N−1)/N·S (its chunk's copies in the
 * reduce-scatter, its reduced chunk to each peer in the all-gather), 2(N−1)·S in and out over all ranks. The
 * ceiling charges those bytes at the per-GB costs of the links' own single stream, spreads them over every
 * core, and expresses the resulting busbw over the same NATS single stream as every other row, so the two
 * paths' ceilings and rows compare directly.
 */
export function directCeilingRatio(n: number, bytes: number, cpu: LinkStreamCpu, singleMBps: number, cores: number): number {
  const ms = minimumDirectRanksCpuMs(n, bytes, cpu) / cores;
  const busbw = (((2 * (n - 1)) / n) * bytes) / 1e6 / (ms / 1e3);
  return busbw / singleMBps;
}

/** The CPU ms all N ranks must spend on one all-reduce of `bytes` over direct links (Note [the CPU ceiling of direct links]). */
export function minimumDirectRanksCpuMs(n: number, bytes: number, cpu: LinkStreamCpu): number {
  const gb = bytes / 1e9;
  return 2 * (n - 1) * gb * (cpu.senderSecPerGB + cpu.receiverSecPerGB) * 1e3;
}

/**
 * The CPU ms all N ranks together must spend on one all-reduce of `bytes` at the single stream's per-byte client
 * costs: N·S published, 2(N−1)·S received (Note [the CPU ceiling]). What ranks spend beyond it is the
 * all-reduce's own cost: summing, copying reduced pieces into the vector, bookkeeping, and the garbage collector.
 */
export function minimumRanksCpuMs(n: number, bytes: number, cpu: SingleStreamCpu): number {
  const gb = bytes / 1e9;
  return (n * gb * cpu.publisherSecPerGB + 2 * (n - 1) * gb * cpu.subscriberSecPerGB) * 1e3;
}

const WARMUP = 2;
const SINGLE_STREAM_BYTES = 256 << 20;
const SINGLE_STREAM_RUNS = 3;
const MESSAGE_BYTES = 1 << 20;
const REQUEST_TIMEOUT_MS = 120_000;
/** Sizes up to this are measured for latency (and fit the round trip's one message under the default max_payload). */
const SMALL_VECTOR_MAX_MB = 1;
const LATENCY_WARMUP = 30;
/** Runs of the necessary work per row (after one warm-up); the median is used. */
const NECESSARY_WORK_RUNS = 5;
const DEFAULT_LATENCY_STEPS = 300;

/**
 * Note [the round-trip baseline]
 * A small vector's all-reduce is bound by latency, not bandwidth: at N = 2 each rank sends half the vector to the
 * other's owner and gets the reduced half back — two trips through nats-server each way, like one request and
 * its answer. The baseline is therefore one process publishing S bytes to another that answers with S bytes
 * (the same transport, the same server), timed per exchange, median of many: what any all-reduce through this
 * server must pay at least once. It is measured for every (N, size) just before the all-reduce, so both see the
 * same load. The all-reduce runs its steps back to back in each rank (as training does, with no parent in the
 * loop); a step's time is the slowest rank's, from the call to the resolution its caller sees.
 */

export async function runAllreduceBench(options: AllreduceBenchOptions): Promise<AllreduceBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const repeats = options.repeats ?? 5;
  const latencySteps = options.latencySteps ?? DEFAULT_LATENCY_STEPS;
  if (!Number.isInteger(latencySteps) || latencySteps < 1) throw new ConfigError('latencySteps', 'must be an integer ≥ 1', { value: latencySteps });
  for (const n of options.workers) if (!Number.isInteger(n) || n < 2 || n > 64) throw new ConfigError('workers', 'each must be an integer in [2, 64]', { value: n });
  for (const mb of options.mb) if (!(mb > 0 && mb <= 2000)) throw new ConfigError('mb', 'each must be a size in (0, 2000] MB', { value: mb });
  if (!Number.isInteger(repeats) || repeats < 1) throw new ConfigError('repeats', 'must be an integer ≥ 1', { value: repeats });
  const entry = options.childEntry ?? defaultChildEntry();

  const loadBefore = loadavg();
  const cpuLoadBefore = await probeCpuLoad();
  const server = options.natsUrl === undefined ? await startLocalNatsServer(options.natsServer) : undefined;
  const url = options.natsUrl ?? (server as { url: string }).url;
  log(`all-reduce benchmark: NATS ${url}${server ? ` (nats-server ${server.version}, started here)` : ''}, ${cpus().length} CPUs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, parallel capacity ${cpuLoadBefore.parallelCapacity.toFixed(2)} of 2`);
  // What each rank's data path uses (native or JavaScript sum, which client patches), printed the first time seen:
  // an A/B run with the env switches shows here that the switch took effect.
  const dataPaths = new Set<string>();
  const noteDataPath = (line: string): void => {
    if (dataPaths.has(line)) return;
    dataPaths.add(line);
    log(`  ranks' data path: ${line}`);
  };
  try {
    const serverPid = server?.pid;
    const results: AllreduceBenchRow[] = [];
    const large = options.mb.filter((mb) => mb > SMALL_VECTOR_MAX_MB);
    const small = options.mb.filter((mb) => mb <= SMALL_VECTOR_MAX_MB);
    const compressions = options.compression ?? ['none'];
    const transports = options.transport ?? ['nats'];
    for (const t of transports) if (t !== 'nats' && t !== 'direct' && t !== 'shm') throw new ConfigError('transport', 'each must be nats, direct or shm', { value: t });
    let links: { mbps: number; cpu: LinkStreamCpu } | undefined;
    let baseline: { runs: number[]; cpu: SingleStreamCpu; mbps: number } | undefined;
    if (large.length > 0) {
      const { runs: singleRuns, cpu: singleCpu } = await singleStream(entry, url, serverPid);
      const single = median(singleRuns);
      baseline = { runs: singleRuns, cpu: singleCpu, mbps: single };
      log(`single stream (1 publisher → 1 subscriber process, 1 MiB messages): ${single.toFixed(0)} MB/s (runs: ${singleRuns.map((r) => r.toFixed(0)).join(', ')})`);
      log(
        `  CPU s per GB: publisher ${singleCpu.publisherSecPerGB.toFixed(2)}, subscriber ${singleCpu.subscriberSecPerGB.toFixed(2)}` +
          (singleCpu.serverSecPerGB === undefined ? '' : `, nats-server ${singleCpu.serverSecPerGB.toFixed(2)}`),
      );
      if (transports.some(overLinks)) {
        const { runs: linkRuns, cpu: linkCpu } = await linkStream(entry);
        links = { mbps: median(linkRuns), cpu: linkCpu };
        log(`direct link single stream (1 sender → 1 receiver process, 1 MiB frames): ${links.mbps.toFixed(0)} MB/s (runs: ${linkRuns.map((r) => r.toFixed(0)).join(', ')})`);
        log(`  CPU s per GB: sender ${linkCpu.senderSecPerGB.toFixed(2)}, receiver ${linkCpu.receiverSecPerGB.toFixed(2)}`);
      }
      log('');
      log('  N      MB  wire    time ms (min–max)      algbw MB/s   busbw MB/s   busbw/single   ceiling   replicas agree   CPU ms/run ranks+server (cores busy)   ranks\' minimum CPU / GC pauses (wall)   measured ÷ ceiling   free cores after');
      for (const n of options.workers) {
        await withRanks(entry, n, async (ranks) => {
          for (const transport of transports) for (const mb of large) for (const compression of compressions) {
            const row = await measureBandwidth(ranks, { url, n, mb, compression, transport, repeats, serverPid, single, singleCpu, linkCpu: links?.cpu, noteDataPath });
            results.push(row.row);
            log(row.line);
          }
        });
      }
    }
    const latency: AllreduceLatencyRow[] = [];
    if (small.length > 0) {
      log('');
      log(`small vectors: median (p10–p90) of ${latencySteps} back-to-back all-reduces after ${LATENCY_WARMUP} (the slowest rank's time per step),`);
      log(`next to the median of ${latencySteps} round trips of the same size between two processes, measured just before (Note [the round-trip baseline])`);
      log('  N      KB  wire    all-reduce ms (p10–p90)   round trip ms (p10–p90)   ratio   CPU ms ranks / round trip   replicas agree');
      await withRoundTrip(entry, url, async (roundTrip) => {
        for (const n of options.workers) {
          await withRanks(entry, n, async (ranks) => {
            for (const transport of transports) for (const mb of small) for (const compression of compressions) {
              const row = await measureLatency(ranks, roundTrip, { url, n, mb, compression, transport, steps: latencySteps, noteDataPath });
              latency.push(row);
              log(
                `${String(n).padStart(3)} ${(mb * 1000).toFixed(0).padStart(7)}  ${wireLabel(compression, transport).padEnd(4)} ` +
                  `${row.ms.toFixed(2).padStart(8)} (${row.msP10.toFixed(2)}–${row.msP90.toFixed(2)})`.padEnd(29) +
                  `${row.roundTripMs.toFixed(2).padStart(9)} (${row.roundTripP10.toFixed(2)}–${row.roundTripP90.toFixed(2)})`.padEnd(29) +
                  `${(row.ms / row.roundTripMs).toFixed(2).padStart(5)}   ${`${row.cpuMsRanks.toFixed(2)} / ${row.roundTripCpuMs.toFixed(2)}`.padEnd(26)}${row.replicasAgree ? 'yes' : 'NO'}`,
              );
            }
          });
        }
      });
    }
    const loadAfter = loadavg();
    const cpuLoadAfter = await probeCpuLoad();
    const result: AllreduceBenchResult = {
      singleStreamMBps: baseline?.mbps,
      singleStreamRunsMBps: baseline?.runs ?? [],
      singleStreamCpu: baseline?.cpu,
      linkStreamMBps: links?.mbps,
      linkStreamCpu: links?.cpu,
      results,
      latency,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        totalMemGiB: totalmem() / 2 ** 30,
        node: process.version,
        natsServer: server?.version ?? `external ${url}`,
        loadBefore,
        loadAfter,
        cpuLoadBefore,
        cpuLoadAfter,
      },
    };
    log(
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}; ` +
        `parallel capacity before ${cpuLoadBefore.parallelCapacity.toFixed(2)}, after ${cpuLoadAfter.parallelCapacity.toFixed(2)} (2 ≈ two free cores; the ceiling assumes both)`,
    );
    if (options.json !== undefined) {
      writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
      log(`wrote ${options.json}`);
    }
    return result;
  } finally {
    await server?.stop();
  }
}

/** Starts N rank processes, runs `body`, stops them whatever happens. */
async function withRanks(entry: string, n: number, body: (ranks: Child[]) => Promise<void>): Promise<void> {
  const ranks = await Promise.all(Array.from({ length: n }, () => Child.start(entry)));
  try {
    await body(ranks);
  } finally {
    await Promise.all(ranks.map((c) => c.stop()));
  }
}

/** The wire column: the encoding, and `+L` when pieces go over direct links. */
function wireLabel(compression: Compression, transport: BenchTransport): string {
  return `${compression === 'none' ? 'f32' : compression}${transport === 'direct' ? '+L' : transport === 'shm' ? '+M' : ''}`;
}

/** Gives every rank a new all-reduce instance (a fresh run id) for vectors of `elements`; direct links get a fresh secret too. */
async function initRanks(ranks: Child[], url: string, n: number, mb: number, compression: Compression, transport: BenchTransport, elements: number, noteDataPath: (line: string) => void): Promise<void> {
  const runId = `bench-${process.pid}-${n}-${String(mb).replace(/\W/g, '_')}-${compression}-${transport}`;
  let links: BenchLinks | undefined;
  if (overLinks(transport)) {
    const addresses = await Promise.all(ranks.map(async (c) => {
      const r = await c.request({ type: 'listen' }, 'listening');
      return r.type === 'listening' ? r.address : '';
    }));
    links = { addresses, secret: new Uint8Array(randomBytes(32)), ...(transport === 'shm' ? { sharedMemory: true } : {}) };
  }
  const replies = await Promise.all(ranks.map((c, rank) => c.request({ type: 'init', role: 'allreduce', url, runId, rank, worldSize: n, elements, compression, ...(links === undefined ? {} : { links }) }, 'ready')));
  for (const r of replies) if (r.type === 'ready' && r.dataPath !== undefined) noteDataPath(r.dataPath);
}

/** Whether every rank holds the same bits, and (the `shm` transport) all ranks' frame counts. */
async function replicasAgree(ranks: Child[]): Promise<{ agree: boolean; frames: SharedMemoryFrames | undefined }> {
  const sums = await Promise.all(ranks.map((c) => c.request({ type: 'checksum' }, 'checksum')));
  let frames: SharedMemoryFrames | undefined;
  for (const s of sums) {
    if (s.type !== 'checksum' || s.sharedMemory === undefined) continue;
    const f = s.sharedMemory;
    frames =
      frames === undefined
        ? f
        : { memory: frames.memory + f.memory, links: frames.links + f.links, noSlot: frames.noSlot + f.noSlot, noRoom: frames.noRoom + f.noRoom, peakSlots: Math.max(frames.peakSlots, f.peakSlots), slots: Math.max(frames.slots, f.slots) };
  }
  return { agree: new Set(sums.map((s) => (s.type === 'checksum' ? s.value : ''))).size === 1, frames };
}

interface BandwidthCase {
  readonly url: string;
  readonly n: number;
  readonly mb: number;
  readonly compression: Compression;
  readonly transport: BenchTransport;
  readonly repeats: number;
  readonly serverPid: number | undefined;
  readonly single: number;
  readonly singleCpu: SingleStreamCpu;
  readonly linkCpu: LinkStreamCpu | undefined;
  readonly noteDataPath: (line: string) => void;
}

/** WARMUP + `repeats` all-reduces, each started by the parent; the row and its printed line. */
async function measureBandwidth(ranks: Child[], c: BandwidthCase): Promise<{ row: AllreduceBenchRow; line: string }> {
  const { n, mb, compression, transport, repeats, serverPid, single, singleCpu, linkCpu } = c;
  const elements = Math.round((mb * 1e6) / 4);
  await initRanks(ranks, c.url, n, mb, compression, transport, elements, c.noteDataPath);
  const times: number[] = [];
  let before = { cpuMs: 0, gcMs: 0, userMs: 0, systemMs: 0 };
  // The ranks' CPU for resetting their vectors before each run: not the all-reduce's, left out of cpuMsRanks.
  let prepareCpuMs = 0;
  let serverBefore: number | undefined;
  // The parent's wall time of the timed runs (their reset phases left out), for the cores-busy figure.
  let wallMs = 0;
  // Uncompressed direct rows: the links' all-to-all alternates with the all-reduce, run by run (Note [the links' all-to-all]).
  // (Not for `shm` rows: their bytes do not go through sockets; Note [the memory ceiling] instead.)
  const mesh = transport === 'direct' && compression === 'none' ? await openLinkMesh(ranks, n, elements * 4) : undefined;
  const meshCpuMs: number[] = [];
  const meshMs: number[] = [];
  let meshUserMs = 0;
  let meshSystemMs = 0;
  for (let i = 0; i < WARMUP + repeats; i++) {
    if (i === WARMUP) {
      before = await cpuAndGcOf(ranks);
      serverBefore = processCpuMs(serverPid);
    }
    // Note [every rank starts prepared]
    const prepared = await Promise.all(ranks.map((r) => r.request({ type: 'prepare' }, 'prepared')));
    const wall0 = performance.now();
    const done = await Promise.all(ranks.map((r) => r.request({ type: 'run', step: i }, 'done')));
    const wall1 = performance.now();
    if (mesh !== undefined) {
      const cpu0 = await cpuAndGcOf(ranks);
      const t0 = performance.now();
      await Promise.all(ranks.map((r) => r.request({ type: 'meshRun' }, 'meshDone')));
      const t1 = performance.now();
      if (i >= WARMUP) {
        const cpu1 = await cpuAndGcOf(ranks);
        meshMs.push(t1 - t0);
        meshCpuMs.push(cpu1.cpuMs - cpu0.cpuMs);
        meshUserMs += cpu1.userMs - cpu0.userMs;
        meshSystemMs += cpu1.systemMs - cpu0.systemMs;
      }
    }
    if (i < WARMUP) continue;
    wallMs += wall1 - wall0;
    times.push(collectiveMs(done));
    for (const p of prepared) if (p.type === 'prepared') prepareCpuMs += p.prepareCpuMs;
  }
  const after = await cpuAndGcOf(ranks);
  const meshCpuTotal = meshCpuMs.reduce((a, b) => a + b, 0);
  const cpuMsRanks = (after.cpuMs - before.cpuMs - prepareCpuMs - meshCpuTotal) / repeats;
  // The reset (a copy of the input) is user time; the split says whether the all-reduce's extra is kernel or not.
  const cpuMsRanksUser = (after.userMs - before.userMs - prepareCpuMs - meshUserMs) / repeats;
  const cpuMsRanksSystem = (after.systemMs - before.systemMs - meshSystemMs) / repeats;
  const gcMsRanks = (after.gcMs - before.gcMs) / repeats;
  const serverAfter = processCpuMs(serverPid);
  const cpuMsServer = serverBefore === undefined || serverAfter === undefined ? undefined : (serverAfter - serverBefore) / repeats;
  const { agree, frames } = await replicasAgree(ranks);
  const { parallelCapacity } = await probeCpuLoad();
  // Note [work besides the bytes]: measured after the row, in one rank, so it never overlaps the timed runs.
  let work: NecessaryWork | undefined;
  if (compression === 'none') {
    const r = await (ranks[0] as Child).request({ type: 'necessaryWork', worldSize: n, elements, runs: NECESSARY_WORK_RUNS }, 'necessaryWork');
    if (r.type === 'necessaryWork') work = { sumMs: r.sumMs, landingMs: r.landingMs };
  }
  const ms = median(times);
  const bytes = elements * 4;
  const algbw = bytes / 1e6 / (ms / 1e3);
  const busbw = ((2 * (n - 1)) / n) * algbw;
  const row: AllreduceBenchRow = {
    workers: n,
    mb,
    compression,
    transport,
    ms,
    msMin: Math.min(...times),
    msMax: Math.max(...times),
    algbwMBps: algbw,
    busbwMBps: busbw,
    busbwRatio: busbw / single,
    replicasAgree: agree,
    cpuMsRanks,
    cpuMsServer,
    cpuMsRanksMinimum: overLinks(transport) && linkCpu !== undefined ? minimumDirectRanksCpuMs(n, bytes, linkCpu) : minimumRanksCpuMs(n, bytes, singleCpu),
    gcMsRanks,
    parallelCapacityAfter: parallelCapacity,
    ceilingRatio:
      overLinks(transport) ? (linkCpu === undefined ? undefined : directCeilingRatio(n, bytes, linkCpu, single, cpus().length)) : ceilingRatio(n, bytes, cpuMsServer, singleCpu, single, cpus().length),
  };
  const busy = (cpuMsRanks + (cpuMsServer ?? 0)) / (wallMs / repeats);
  // The CPU the ceiling charges: the ranks' minimum bytes, and over NATS the server's CPU too.
  const ceilingCpuMs = overLinks(transport) ? row.cpuMsRanksMinimum : cpuMsServer === undefined ? undefined : row.cpuMsRanksMinimum + cpuMsServer;
  const best = work === undefined || ceilingCpuMs === undefined ? undefined : bestCeilingFraction(ceilingCpuMs, work);
  const meshCost = mesh === undefined ? undefined : linkMeshCost(n, bytes, mesh.sentBytes, meshCpuMs, meshMs);
  const bestAllToAll = work === undefined || meshCost === undefined ? undefined : bestCeilingFraction(row.cpuMsRanksMinimum, work, meshCost.cpuMs);
  const memoryFraction = transport === 'shm' && work !== undefined ? memoryCeilingFraction(ms, work, cpus().length) : undefined;
  const withWork: AllreduceBenchRow = {
    ...row,
    ...(work === undefined ? {} : { necessaryWork: work }),
    ...(best === undefined ? {} : { bestCeilingFraction: best }),
    ...(meshCost === undefined ? {} : { linkMesh: meshCost }),
    ...(bestAllToAll === undefined ? {} : { bestCeilingFractionAllToAll: bestAllToAll }),
    cpuMsRanksUser,
    cpuMsRanksSystem,
    ...(meshCost === undefined ? {} : { linkMeshUserMs: meshUserMs / repeats, linkMeshSystemMs: meshSystemMs / repeats }),
    ...(memoryFraction === undefined ? {} : { memoryCeilingFraction: memoryFraction }),
    ...(frames === undefined ? {} : { sharedMemoryFrames: frames }),
  };
  // Where the ranks' CPU went: bytes at one link's costs, what the all-to-all adds, sums, landing, and the rest.
  const workLine =
    work === undefined
      ? ''
      : memoryFraction !== undefined
        ? `\n        ranks' CPU ${cpuMsRanks.toFixed(0)} ms = rank-order sums ${work.sumMs.toFixed(0)} + landing ${work.landingMs.toFixed(0)} + copies into slots, notices and the rest ${(cpuMsRanks - work.sumMs - work.landingMs).toFixed(0)}` +
          `; ${memoryFraction.toFixed(2)} × the memory ceiling (only the sums and landing, on all cores; Note [the memory ceiling])` +
          (frames === undefined ? '' : `; frames through memory ${frames.memory}, over the links ${frames.links} (no free slot ${frames.noSlot}, no room ${frames.noRoom}); at most ${frames.peakSlots} of a rank's ${frames.slots} slots in use`) +
          `\n        user + system CPU ms per run: all-reduce ${cpuMsRanksUser.toFixed(0)} + ${cpuMsRanksSystem.toFixed(0)}`
        : `\n        ranks' CPU ${cpuMsRanks.toFixed(0)} ms = minimum bytes ${row.cpuMsRanksMinimum.toFixed(0)}` +
          (meshCost === undefined ? '' : ` + all-to-all ${(meshCost.cpuMs - row.cpuMsRanksMinimum).toFixed(0)}`) +
          ` + rank-order sums ${work.sumMs.toFixed(0)} + landing ${work.landingMs.toFixed(0)} + rest ${(cpuMsRanks - (meshCost?.cpuMs ?? row.cpuMsRanksMinimum) - work.sumMs - work.landingMs).toFixed(0)}` +
          (best === undefined ? '' : `; at most ${best.toFixed(2)} × ceiling with the sums and landing`) +
          (bestAllToAll === undefined ? '' : `, ${bestAllToAll.toFixed(2)} with the all-to-all too (fully busy cores; Note [work besides the bytes])`) +
          (meshCost === undefined ? '' : `; the all-to-all alone, alternating with the runs: ${meshCost.cpuSecPerGB.toFixed(2)} CPU s per GB, ${meshCost.mbps.toFixed(0)} MB/s sent`) +
          `\n        user + system CPU ms per run: all-reduce ${cpuMsRanksUser.toFixed(0)} + ${cpuMsRanksSystem.toFixed(0)}` +
          (meshCost === undefined ? '' : `, all-to-all ${(meshUserMs / repeats).toFixed(0)} + ${(meshSystemMs / repeats).toFixed(0)} (its own bytes: ${((mesh?.sentBytes ?? 0) / 1e6).toFixed(0)} MB)`);
  const line =
    `${String(n).padStart(3)} ${String(mb).padStart(7)}  ${wireLabel(compression, transport).padEnd(4)} ${ms.toFixed(1).padStart(9)} (${row.msMin.toFixed(1)}–${row.msMax.toFixed(1)})`.padEnd(44) +
    `${algbw.toFixed(0).padStart(10)} ${busbw.toFixed(0).padStart(12)} ${row.busbwRatio.toFixed(2).padStart(14)} ${(row.ceilingRatio === undefined ? '?' : row.ceilingRatio.toFixed(2)).padStart(9)}   ${(agree ? 'yes' : 'NO').padEnd(17)}` +
    `${cpuMsRanks.toFixed(0)}+${cpuMsServer === undefined ? '?' : cpuMsServer.toFixed(0)} (${busy.toFixed(2)})`.padEnd(17) +
    `${row.cpuMsRanksMinimum.toFixed(0)} / ${gcMsRanks.toFixed(0)}`.padStart(10).padEnd(40) +
    (row.ceilingRatio === undefined ? '?' : (row.busbwRatio / row.ceilingRatio).toFixed(2)).padEnd(21) +
    parallelCapacity.toFixed(2) +
    workLine;
  return { row: withWork, line };
}

/**
 * Opens the links' all-to-all next to the ranks' all-reduce for a vector of `bytes` (Note [the links' all-to-all]):
 * each rank will send 2S/N to each peer per `meshRun`, 2(N−1)/N·S in all, as the all-reduce does, in whole frames.
 */
async function openLinkMesh(ranks: Child[], n: number, bytes: number): Promise<{ sentBytes: number }> {
  const bytesPerPeer = Math.max(1, Math.round((2 * bytes) / n / MESSAGE_BYTES)) * MESSAGE_BYTES;
  const addresses = await Promise.all(ranks.map(async (c) => {
    const r = await c.request({ type: 'listen' }, 'listening');
    return r.type === 'listening' ? r.address : '';
  }));
  const runId = `bench-${process.pid}-mesh-${n}-${bytes}`;
  const secret = new Uint8Array(randomBytes(32));
  await Promise.all(ranks.map((c, rank) => c.request({ type: 'meshOpen', runId, secret, rank, worldSize: n, addresses, bytesPerPeer, messageBytes: MESSAGE_BYTES, sourceBytes: bytes }, 'meshReady')));
  return { sentBytes: n * (n - 1) * bytesPerPeer };
}

/** The all-to-all's cost from its timed runs (all ranks' CPU ms and wall ms of each), charged for one all-reduce of `bytes` (2(N−1)·S sent in all). */
export function linkMeshCost(n: number, bytes: number, sentBytesPerRun: number, cpuMs: readonly number[], wallMs: readonly number[]): LinkMeshCost {
  const cpuSecPerGB = cpuMs.reduce((a, b) => a + b, 0) / 1e3 / ((cpuMs.length * sentBytesPerRun) / 1e9);
  return { mbps: sentBytesPerRun / 1e6 / (median(wallMs) / 1e3), cpuSecPerGB, cpuMs: ((2 * (n - 1) * bytes) / 1e9) * cpuSecPerGB * 1e3 };
}

/**
 * Note [every rank starts prepared]
 * Each rank resets its 40 MB vector before an all-reduce (training's backward writes it instead). When the reset
 * came with the start command, a rank that got the command first started its clock while others, with only two
 * cores for N processes, were still resetting or waiting for a core to reset on — and the row charged the
 * all-reduce with that skew (several ms of a 50–100 ms run at N = 3, 4). Now every rank resets first and says so;
 * only then does the parent start them all, and a run lasts from the first rank's start to the last rank's
 * resolution on the clock the processes share (`collectiveMs`): the all-reduce as a whole, the way nccl-tests
 * time a collective after a barrier.
 */
export function collectiveMs(done: readonly ChildReply[]): number {
  let start = Infinity;
  let end = -Infinity;
  let own = 0;
  for (const d of done) {
    if (d.type !== 'done') continue;
    own = Math.max(own, d.ms);
    if (d.startMs === undefined || d.endMs === undefined) continue;
    start = Math.min(start, d.startMs);
    end = Math.max(end, d.endMs);
  }
  // Never less than the longest rank's own time (a clock read on either side of its call).
  return end > start ? Math.max(own, end - start) : own;
}

/**
 * A pinger and an echo process kept for the whole latency section; `roundTrip(bytes, warmup, count)` times
 * `count` exchanges after `warmup`: each one's wall time, and the CPU time of both processes per exchange.
 */
type RoundTrip = (bytes: number, warmup: number, count: number) => Promise<{ ms: number[]; cpuMsPerTrip: number }>;

async function withRoundTrip(entry: string, url: string, body: (roundTrip: RoundTrip) => Promise<void>): Promise<void> {
  const [echo, pinger] = await Promise.all([Child.start(entry), Child.start(entry)]);
  let sizeIndex = 0;
  try {
    await body(async (bytes, warmup, count) => {
      // A subject per size: a late answer of the previous size can never be taken for this one's.
      const subject = `gradmesh-bench.${process.pid}.ping.${sizeIndex++}`;
      await echo.request({ type: 'init', role: 'echo', url, subject, bytes }, 'ready');
      await pinger.request({ type: 'init', role: 'pinger', url, subject, bytes }, 'ready');
      const echoBefore = await cpuOf([echo]);
      const reply = await pinger.request({ type: 'runMany', warmup, count }, 'times');
      // The echo only answers: its CPU time over warm-up and timed exchanges alike, per exchange.
      const echoPerTrip = ((await cpuOf([echo])) - echoBefore) / (warmup + count);
      return reply.type === 'times' ? { ms: reply.ms, cpuMsPerTrip: reply.cpuMs / count + echoPerTrip } : { ms: [], cpuMsPerTrip: 0 };
    });
  } finally {
    await Promise.all([echo.stop(), pinger.stop()]);
  }
}

interface LatencyCase {
  readonly url: string;
  readonly n: number;
  readonly mb: number;
  readonly compression: Compression;
  readonly transport: BenchTransport;
  readonly steps: number;
  readonly noteDataPath: (line: string) => void;
}

/** The round trip of the vector's size, then LATENCY_WARMUP + `steps` back-to-back all-reduces (Note [the round-trip baseline]). */
async function measureLatency(ranks: Child[], roundTrip: RoundTrip, c: LatencyCase): Promise<AllreduceLatencyRow> {
  const elements = Math.round((c.mb * 1e6) / 4);
  const trips = await roundTrip(elements * 4, LATENCY_WARMUP, c.steps);
  await initRanks(ranks, c.url, c.n, c.mb, c.compression, c.transport, elements, c.noteDataPath);
  const replies = await Promise.all(ranks.map((r) => r.request({ type: 'runMany', warmup: LATENCY_WARMUP, count: c.steps }, 'times')));
  const perRank = replies.map((r) => (r.type === 'times' ? r.ms : []));
  const slowest = Array.from({ length: c.steps }, (_, i) => Math.max(...perRank.map((ms) => ms[i] as number)));
  const cpuMsRanks = replies.reduce((sum, r) => sum + (r.type === 'times' ? r.cpuMs : 0), 0) / c.steps;
  return {
    workers: c.n,
    mb: c.mb,
    compression: c.compression,
    transport: c.transport,
    ms: quantile(slowest, 0.5),
    msP10: quantile(slowest, 0.1),
    msP90: quantile(slowest, 0.9),
    cpuMsRanks,
    roundTripMs: quantile(trips.ms, 0.5),
    roundTripP10: quantile(trips.ms, 0.1),
    roundTripP90: quantile(trips.ms, 0.9),
    roundTripCpuMs: trips.cpuMsPerTrip,
    replicasAgree: (await replicasAgree(ranks)).agree,
  };
}

/**
 * SINGLE_STREAM_RUNS transfers of SINGLE_STREAM_BYTES after one warm-up; MB/s from the parent's clock.
 *
 * Note [single-stream CPU per run]
 * The ceiling charges the all-reduce's bytes at these per-GB costs, so one disturbed run (another process's
 * burst, a long GC) must not move it: each run's CPU is measured on its own and the median run's cost is used.
 * Between invocations the subscriber's cost is bimodal on this machine — 0.3–0.5 or 1.2–1.6 s/GB, the same
 * code, whether or not it recycles payloads — so a ceiling is compared with the rows of its own run only.
 */
async function singleStream(entry: string, url: string, serverPid: number | undefined): Promise<{ runs: number[]; cpu: SingleStreamCpu }> {
  const subject = `gradmesh-bench.${process.pid}.stream`;
  const [sub, pub] = await Promise.all([Child.start(entry), Child.start(entry)]);
  try {
    const init = { url, subject, totalBytes: SINGLE_STREAM_BYTES, messageBytes: MESSAGE_BYTES } as const;
    await sub.request({ type: 'init', role: 'subscriber', ...init }, 'ready');
    await pub.request({ type: 'init', role: 'publisher', ...init }, 'ready');
    const runs: number[] = [];
    // CPU s per GB of each timed run; the median is used (Note [single-stream CPU per run]).
    const perRun = { pub: [] as number[], sub: [] as number[], server: [] as number[] };
    const gb = SINGLE_STREAM_BYTES / 1e9;
    for (let i = 0; i <= SINGLE_STREAM_RUNS; i++) {
      const before = { pub: await cpuOf([pub]), sub: await cpuOf([sub]), server: processCpuMs(serverPid) };
      const t0 = performance.now();
      const received = sub.next('received');
      await Promise.all([pub.request({ type: 'run', step: i }, 'done'), received]);
      const ms = performance.now() - t0;
      if (i === 0) continue;
      runs.push(SINGLE_STREAM_BYTES / 1e6 / (ms / 1e3));
      const serverAfter = processCpuMs(serverPid);
      perRun.pub.push(((await cpuOf([pub])) - before.pub) / 1e3 / gb);
      perRun.sub.push(((await cpuOf([sub])) - before.sub) / 1e3 / gb);
      if (before.server !== undefined && serverAfter !== undefined) perRun.server.push((serverAfter - before.server) / 1e3 / gb);
    }
    const cpu: SingleStreamCpu = {
      publisherSecPerGB: median(perRun.pub),
      subscriberSecPerGB: median(perRun.sub),
      serverSecPerGB: perRun.server.length === SINGLE_STREAM_RUNS ? median(perRun.server) : undefined,
    };
    return { runs, cpu };
  } finally {
    await Promise.all([sub.stop(), pub.stop()]);
  }
}

/** The single stream of the direct links (Note [the CPU ceiling of direct links]): as `singleStream`, one link instead of the server. */
async function linkStream(entry: string): Promise<{ runs: number[]; cpu: LinkStreamCpu }> {
  const [receiver, sender] = await Promise.all([Child.start(entry), Child.start(entry)]);
  try {
    const runId = `bench-${process.pid}-link-stream`;
    const secret = new Uint8Array(randomBytes(32));
    const listening = await receiver.request({ type: 'listen' }, 'listening');
    const address = listening.type === 'listening' ? listening.address : '';
    await receiver.request({ type: 'init', role: 'linkReceiver', runId, secret, totalBytes: SINGLE_STREAM_BYTES }, 'ready');
    await sender.request({ type: 'init', role: 'linkSender', runId, secret, address, totalBytes: SINGLE_STREAM_BYTES, messageBytes: MESSAGE_BYTES }, 'ready');
    const runs: number[] = [];
    const perRun = { sender: [] as number[], receiver: [] as number[] };
    const gb = SINGLE_STREAM_BYTES / 1e9;
    for (let i = 0; i <= SINGLE_STREAM_RUNS; i++) {
      const before = { sender: await cpuOf([sender]), receiver: await cpuOf([receiver]) };
      const t0 = performance.now();
      const received = receiver.next('received');
      await Promise.all([sender.request({ type: 'run', step: i }, 'done'), received]);
      const ms = performance.now() - t0;
      if (i === 0) continue;
      runs.push(SINGLE_STREAM_BYTES / 1e6 / (ms / 1e3));
      perRun.sender.push(((await cpuOf([sender])) - before.sender) / 1e3 / gb);
      perRun.receiver.push(((await cpuOf([receiver])) - before.receiver) / 1e3 / gb);
    }
    return { runs, cpu: { senderSecPerGB: median(perRun.sender), receiverSecPerGB: median(perRun.receiver) } };
  } finally {
    await Promise.all([receiver.stop(), sender.stop()]);
  }
}

/** Total CPU ms the children used so far. */
async function cpuOf(children: Child[]): Promise<number> {
  return (await cpuAndGcOf(children)).cpuMs;
}

/** Total CPU ms the children used so far (and its user and system parts), and the garbage collector's pauses among it. */
async function cpuAndGcOf(children: Child[]): Promise<{ cpuMs: number; gcMs: number; userMs: number; systemMs: number }> {
  const replies = await Promise.all(children.map((c) => c.request({ type: 'cpu' }, 'cpu')));
  let cpuMs = 0;
  let gcMs = 0;
  let userMs = 0;
  let systemMs = 0;
  for (const r of replies) if (r.type === 'cpu') {
    cpuMs += r.ms;
    gcMs += r.gcMs;
    userMs += r.userMs;
    systemMs += r.systemMs;
  }
  return { cpuMs, gcMs, userMs, systemMs };
}

function defaultChildEntry(): string {
  const sibling = fileURLToPath(new URL('./allreduce-child.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  // Running from the TypeScript sources (vitest, vite-node): use the compiled child.
  const compiled = fileURLToPath(new URL('../../dist/allreduce/allreduce-child.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  throw new ConfigError('childEntry', `no compiled benchmark child at ${sibling} or ${compiled}`, { hint: 'build first: npm run build' });
}

/** The q-quantile by linear interpolation between order statistics. */
function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(s.length - 1, lo + 1);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}

/** One forked child: commands out, replies in, in order; a crash or a timeout rejects what is waiting. */
class Child {
  readonly #proc: ChildProcess;
  readonly #replies: ChildReply[] = [];
  readonly #waiters: { resolve: (r: ChildReply) => void; reject: (e: Error) => void }[] = [];
  #exitError: Error | undefined;

  private constructor(entry: string) {
    this.#proc = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.#proc.on('message', (m: ChildReply) => {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#replies.push(m);
      else if (m.type === 'failed') waiter.reject(new ClusterError(`benchmark child ${this.#proc.pid} failed: ${m.message}`));
      else waiter.resolve(m);
    });
    this.#proc.on('exit', (code, signal) => {
      this.#exitError = new ClusterError(`benchmark child ${this.#proc.pid} exited (${signal ?? code})`);
      for (const w of this.#waiters.splice(0)) w.reject(this.#exitError);
    });
  }

  static async start(entry: string): Promise<Child> {
    return new Child(entry);
  }

  /** The next reply, which must be of type `type`. */
  next(type: ChildReply['type']): Promise<ChildReply> {
    const queued = this.#replies.shift();
    const check = (r: ChildReply): ChildReply => {
      if (r.type === 'failed') throw new ClusterError(`benchmark child ${this.#proc.pid} failed: ${r.message}`);
      if (r.type !== type) throw new ClusterError(`benchmark child ${this.#proc.pid} replied ${r.type}, expected ${type}`);
      return r;
    };
    if (queued !== undefined) return Promise.resolve(queued).then(check);
    if (this.#exitError !== undefined) return Promise.reject(this.#exitError);
    return new Promise<ChildReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClusterError(`benchmark child ${this.#proc.pid} did not reply ${type} within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
      this.#waiters.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    }).then(check);
  }

  request(command: ParentCommand, expect: ChildReply['type']): Promise<ChildReply> {
    const reply = this.next(expect);
    this.#proc.send(command);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.#exitError !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()));
    this.#proc.send({ type: 'exit' } satisfies ParentCommand);
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
