import type { AllreduceTransport, LinkSpec, Topology } from '../scaling-results.js';
import { messagePattern, WIRE_BYTES_PER_PAYLOAD_BYTE, type MessagePattern } from './message-pattern.js';

/**
 * A model of one synchronous data-parallel step of gradmesh: every worker computes the gradients of its local
 * batch, all-reduces them (message pattern: `message-pattern.ts`), and reports to the coordinator, which starts the
 * next step once the last report is in.
 *
 * Note [the step model]
 *   compute    = (c₀ + a · localBatch / threads) · contention   contention = max(1, N·threads / cores) when the
 *                                                           workers share one machine's cores, else 1
 *   all-reduce = max(T_cpu + RTT, T_link + RTT, T_window)   (0 for N = 1)
 *     T_cpu    = the busiest CPU's work: per message and per byte, for the publisher, nats-server and subscriber;
 *                on a shared machine also (all processes' work) / cores
 *     T_link   = wire bytes of the busiest host-link direction / rate
 *     RTT      = one piece's unloaded round trip (reduce-scatter then all-gather): link hops × (delay + piece
 *                serialization) + server traversals × hop latency × contention — the pipeline's fill and drain
 *                (a hop's latency is mostly waiting to be scheduled: on shared cores it stretches like compute)
 *     T_window = ⌈pieces per chunk / W⌉ · RTT: a sender has at most W pieces per owner in flight (flow.ts)
 *   exposed    = all-reduce − min(overlap · all-reduce, compute)   (overlap with backward: gradient buckets)
 *   wait       = (w₀ + w₁ · N + 2 · control servers · hop latency) · contention + 2 · control link hops · delay
 *                (step command out, report back: `controlHops`; the coordinator's and the workers' event loops
 *                are slowed by shared cores like compute is)
 *   step       = compute + exposed + wait;  throughput = global batch / step
 * The bounds are taken as a max, not a sum: reduce-scatter and all-gather overlap piece by piece (rsag.ts), so
 * the all-reduce runs at the pace of its slowest resource, plus one round trip to fill and drain the pipeline.
 */

/** Costs of the model; `calibrate` fits them from measurements. All in seconds. */
export interface CostParams {
  /**
   * a: compute per sample of the local batch (forward + backward) on one thread; a worker's threads share its
   * micro-batches, taken as ideal scaling (measured for the CNN: 1.78× on 2 threads, README).
   */
  readonly computeSecondsPerSample: number;
  /** c₀: compute per step independent of the batch (optimizer update, checksum). */
  readonly computeSecondsPerStep: number;
  readonly publisherSecondsPerByte: number;
  readonly publisherSecondsPerMessage: number;
  /** nats-server, per byte received or sent. */
  readonly serverSecondsPerByte: number;
  readonly serverSecondsPerMessage: number;
  readonly subscriberSecondsPerByte: number;
  readonly subscriberSecondsPerMessage: number;
  /** Latency of one nats-server traversal beyond its CPU cost (event loops, socket wake-ups). */
  readonly hopLatencySeconds: number;
  /** w₀, w₁: the coordinator's step command and reports, and stragglers. */
  readonly waitSecondsPerStep: number;
  readonly waitSecondsPerWorker: number;
}

/**
 * Where the processes run. `shared`: every worker and server of the run on one machine of `cores` cores (how
 * the measurements are taken here). `dedicated`: each worker on its own host; a nats-server may spread over
 * `serverCores` cores (it serves each connection on its own goroutine).
 */
export type CpuPlacement = { readonly kind: 'shared'; readonly cores: number } | { readonly kind: 'dedicated'; readonly serverCores: number };

export interface Scenario {
  readonly workers: number;
  readonly topology: Topology;
  readonly link: LinkSpec;
  readonly gradientBytes: number;
  /** Samples of the busiest worker's shard (⌈global / N⌉), and of the whole step. */
  readonly localBatch: number;
  readonly globalBatch: number;
  readonly threadsPerWorker: number;
  readonly cpu: CpuPlacement;
  /** Fraction of the all-reduce hidden behind backward (0 today: gradmesh all-reduces after backward). */
  readonly overlap: number;
  /**
   * How the pieces travel (message-pattern.ts): through nats-server, or over direct links (no server CPU or
   * traversal on the data path; the link's sender and receiver are costed like a publisher and a subscriber).
   * Default "nats". The control path (step commands, reports: `waitSeconds`) goes through NATS either way.
   */
  readonly transport?: AllreduceTransport;
}

export type Bound = 'cpu' | 'link' | 'window' | 'none';

export interface StepPrediction {
  readonly computeSeconds: number;
  /** The all-reduce's full duration, and the part of it not hidden behind compute. */
  readonly allreduceTotalSeconds: number;
  readonly allreduceSeconds: number;
  readonly waitSeconds: number;
  readonly stepSeconds: number;
  readonly samplesPerSec: number;
  /** What bounded the all-reduce. */
  readonly bound: Bound;
  readonly pattern: MessagePattern;
}

/**
 * The control path of a step: the coordinator's `step` command to a worker and its report back. Via the hub: 2
 * link hops and 1 server each way. Per-host (the coordinator is a client of host 0's server): to a worker on another
 * host 1 route (link) hop and 2 servers each way.
 */
export function controlHops(topology: Topology, workers: number): { link: number; server: number } {
  if (topology === 'hub') return { link: 2, server: 1 };
  return workers > 1 ? { link: 1, server: 2 } : { link: 0, server: 1 };
}

/** How much slower a worker's own work runs because the run's processes share too few cores (1 on dedicated hosts). */
export function contention(s: Pick<Scenario, 'workers' | 'threadsPerWorker' | 'cpu'>): number {
  return s.cpu.kind === 'shared' ? Math.max(1, (s.workers * s.threadsPerWorker) / s.cpu.cores) : 1;
}

export function computeSeconds(s: Scenario, p: CostParams): number {
  return (p.computeSecondsPerStep + (p.computeSecondsPerSample * s.localBatch) / s.threadsPerWorker) * contention(s);
}

/** CPU seconds one worker and one nats-server spend on one all-reduce. */
export function allreduceCpuSeconds(pattern: MessagePattern, p: CostParams): { worker: number; server: number } {
  const worker =
    pattern.workerPublishes.messages * p.publisherSecondsPerMessage +
    pattern.workerPublishes.bytes * p.publisherSecondsPerByte +
    pattern.workerReceives.messages * p.subscriberSecondsPerMessage +
    pattern.workerReceives.bytes * p.subscriberSecondsPerByte;
  const server = (pattern.serverReceives.messages + pattern.serverSends.messages) * p.serverSecondsPerMessage + (pattern.serverReceives.bytes + pattern.serverSends.bytes) * p.serverSecondsPerByte;
  return { worker, server };
}

/** Seconds to put `payloadBytes` of TCP payload through a link of `rateBitsPerSec` (null: unshaped, 0). */
export function linkSeconds(payloadBytes: number, rateBitsPerSec: number | null): number {
  return rateBitsPerSec === null ? 0 : (payloadBytes * WIRE_BYTES_PER_PAYLOAD_BYTE * 8) / rateBitsPerSec;
}

export function allreduce(s: Scenario, p: CostParams): { seconds: number; bound: Bound; pattern: MessagePattern } {
  const pattern = messagePattern(s.workers, s.gradientBytes, s.topology, s.transport ?? 'nats');
  if (s.workers === 1) return { seconds: 0, bound: 'none', pattern };
  const cpu = allreduceCpuSeconds(pattern, p);
  const tCpu =
    s.cpu.kind === 'shared'
      ? Math.max(cpu.worker, (s.workers * cpu.worker + pattern.servers * cpu.server) / s.cpu.cores)
      : Math.max(cpu.worker, cpu.server / s.cpu.serverCores);
  const tLink = linkSeconds(pattern.busiestLinkBytes, s.link.rateBitsPerSec);
  // Note [no store-and-forward in the streaming bounds]: a piece's path crosses linkHops links, but while the
  // all-reduce streams (CPU- or link-bound) those serializations overlap with the other pieces' — the busiest
  // link's bytes (tLink) already hold them — so only the path's latency (delay and server traversals) adds to
  // those two bounds. A window-bound all-reduce waits for whole round trips, serialization included. (With the
  // serializations counted in all three, a quiet machine's 1 Gbit/s runs were over-predicted by up to 76 %.)
  const latency = pattern.linkHops * s.link.delaySeconds + pattern.serverHops * p.hopLatencySeconds * contention(s);
  const rtt = latency + pattern.linkHops * linkSeconds(pattern.largestMessageBytes, s.link.rateBitsPerSec);
  const tWindow = Math.ceil(pattern.piecesPerChunk / Math.max(1, pattern.window)) * rtt;
  const candidates: [number, Bound][] = [
    [tCpu + latency, 'cpu'],
    [tLink + latency, 'link'],
    [tWindow, 'window'],
  ];
  const [seconds, bound] = candidates.reduce((a, b) => (b[0] > a[0] ? b : a));
  return { seconds, bound, pattern };
}

export function waitSeconds(s: Scenario, p: CostParams): number {
  const hops = controlHops(s.topology, s.workers);
  return (p.waitSecondsPerStep + p.waitSecondsPerWorker * s.workers + 2 * hops.server * p.hopLatencySeconds) * contention(s) + 2 * hops.link * s.link.delaySeconds;
}

export function simulateStep(s: Scenario, p: CostParams): StepPrediction {
  const compute = computeSeconds(s, p);
  const ar = allreduce(s, p);
  const hidden = Math.min(s.overlap * ar.seconds, compute);
  const exposed = ar.seconds - hidden;
  const wait = waitSeconds(s, p);
  const step = compute + exposed + wait;
  return {
    computeSeconds: compute,
    allreduceTotalSeconds: ar.seconds,
    allreduceSeconds: exposed,
    waitSeconds: wait,
    stepSeconds: step,
    samplesPerSec: s.globalBatch / step,
    bound: ar.bound,
    pattern: ar.pattern,
  };
}

/**
 * Scaling efficiency: throughput(N) / (N · throughput(1)), where the one worker runs the same local batch (weak
 * scaling, as in Horovod's and DDP's plots) on the same link and placement — which is step(1) / step(N).
 */
export function efficiency(s: Scenario, p: CostParams): number {
  const one = simulateStep({ ...s, workers: 1, globalBatch: s.localBatch }, p);
  return one.stepSeconds / simulateStep(s, p).stepSeconds;
}
