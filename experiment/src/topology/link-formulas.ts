import type { AllreduceTransport, Topology } from '../scaling-results.js';

/** Bytes one host's link carries per all-reduce of S bytes. */
export interface ExpectedLinkBytes {
  readonly host: string;
  readonly txBytes: number;
  readonly rxBytes: number;
}

/**
 * The bytes each host link carries per all-reduce of a gradient of S bytes, from the all-reduce's message
 * pattern (worker/src/allreduce/rsag.ts): rank i owns chunk i (≈ S/N); in the reduce-scatter every rank
 * publishes each of the N−1 other chunks once, to its owner; in the all-gather every owner publishes its
 * reduced chunk once, to a subject the N−1 others subscribe to.
 *
 * Hub (one server, on a host of its own): each worker sends (N−1)/N·S + S/N = S and receives
 * 2(N−1)/N·S; the server receives N·S and sends (N−1)·S (reduce-scatter, each piece to its owner) plus
 * (N−1)·S (each reduced chunk to N−1 subscribers) = 2(N−1)·S. Its link bounds the bus bandwidth at ≈ link / N.
 *
 * Per-host (a server on every worker host, clustered by routes; worker ↔ local server stays on the host):
 * a route carries a message once per remote server with interest, so a host sends (N−1)/N·S of
 * reduce-scatter pieces to the owners' servers and (N−1)·S/N of its reduced chunk, one copy per other
 * server: 2(N−1)/N·S each way — a ring's bandwidth-optimal bound.
 *
 * Direct links (training.allreduce.transport "direct", the default): see the branch below.
 *
 * Payload bytes only: the link also carries NATS protocol lines (one per message), the 16-byte piece headers,
 * TCP/IP/Ethernet headers and ACKs. On veth, which counts GSO super-packets of up to 64 KiB, that adds well
 * under 1 % (measured +0.3–0.4 %); on a real 1500-byte-MTU NIC it would be ≈ 4–7 %. Measurements are compared
 * within 10 %.
 */
export function expectedLinkBytes(topology: Topology, workerHosts: readonly string[], gradientBytes: number, serverHost = 'nats', transport: AllreduceTransport = 'nats'): ExpectedLinkBytes[] {
  const n = workerHosts.length;
  const s = gradientBytes;
  if (transport === 'direct') {
    // Over direct links every rank sends its N−1 other chunks' pieces to their owners and its reduced chunk to each of
    // the N−1 others: 2(N−1)/N·S each way on its host's link, in either topology. No server carries gradient bytes,
    // so none is listed (its link carries only control messages).
    const each = n === 1 ? 0 : (2 * (n - 1) * s) / n;
    return workerHosts.map((host) => ({ host, txBytes: each, rxBytes: each }));
  }
  if (n === 1) return [...workerHosts.map((host) => ({ host, txBytes: 0, rxBytes: 0 })), ...(topology === 'hub' ? [{ host: serverHost, txBytes: 0, rxBytes: 0 }] : [])];
  if (topology === 'per-host') {
    const each = (2 * (n - 1) * s) / n;
    return workerHosts.map((host) => ({ host, txBytes: each, rxBytes: each }));
  }
  return [...workerHosts.map((host) => ({ host, txBytes: s, rxBytes: (2 * (n - 1) * s) / n })), { host: serverHost, txBytes: 2 * (n - 1) * s, rxBytes: n * s }];
}

/** measured / expected − 1, or null when nothing is expected (N = 1: no all-reduce traffic at all). */
export function relativeError(measured: number, expected: number): number | null {
  return expected === 0 ? null : measured / expected - 1;
}
