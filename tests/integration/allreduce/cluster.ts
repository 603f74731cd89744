import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Random } from '../../../shared/src/random.js';
import { RsagAllReduce, type RsagOptions } from '../../../worker/src/allreduce/rsag.js';
import { installDirectWrites, installReceivedPayloads, installSocketReads } from '../../../transport/src/index.js';

/** N ranks of one run as N NatsConnections in this process (each rank has its own socket, as in a real run). */
export interface LocalCluster {
  readonly runId: string;
  readonly connections: NatsConnection[];
  readonly ranks: RsagAllReduce[];
  close(): Promise<void>;
}

let runCounter = 0;

/** A fresh run id per cluster, so tests sharing one server never see each other's traffic. */
export function freshRunId(prefix = 't'): string {
  runCounter++;
  return `${prefix}${process.pid}-${runCounter}`;
}

/**
 * Ranks receive and publish the way a worker process does (`connectNats` installs the same transport wrappers);
 * tests/integration/allreduce/stock-client.test.ts covers the client without them.
 */
export async function startCluster(url: string, worldSize: number, options: Partial<Omit<RsagOptions, 'nc' | 'rank' | 'worldSize'>> = {}): Promise<LocalCluster> {
  const runId = options.runId ?? freshRunId();
  const connections = await Promise.all(Array.from({ length: worldSize }, () => connect({ servers: url })));
  if (process.env['GRADMESH_STOCK_CLIENT'] !== '1') {
    for (const nc of connections) {
      installReceivedPayloads(nc);
      installDirectWrites(nc);
      await installSocketReads(nc);
    }
  }
  const ranks = connections.map((nc, rank) => new RsagAllReduce({ generation: 0, ...options, nc, runId, rank, worldSize }));
  // Subscriptions must be registered with the server before any rank publishes.
  await Promise.all(connections.map((nc) => nc.flush()));
  return {
    runId,
    connections,
    ranks,
    async close() {
      await Promise.all(ranks.map((r) => r.close()));
      await Promise.all(connections.map((nc) => nc.close()));
    },
  };
}

const SCALES = Array.from({ length: 25 }, (_, e) => 2 ** (e - 27));

/**
 * Test vectors whose magnitudes span 2^-27 … 2^12, so that float32 rounding makes the summation order show
 * in the bits (a test of "rank order" must be able to fail). Element i of rank r is a fixed hash of
 * (seed, r, i) — a deterministic function, not a random draw — because 10 M-element vectors must be cheap.
 */
export function rankVectors(worldSize: number, length: number, seed: number): Float32Array[] {
  return Array.from({ length: worldSize }, (_, rank) => {
    const key = Random.derive(seed, rank).nextUint32();
    const v = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      let u = Math.imul(i ^ key, 0x9e3779b1);
      u = Math.imul(u ^ (u >>> 15), 0x85ebca77);
      u ^= u >>> 13;
      // A 16-bit signed mantissa times 2^(e − 27), e in 0..24.
      v[i] = ((u & 0xffff) - 0x8000) * (SCALES[(u >>> 16) % 25] as number);
    }
    return v;
  });
}

/** The oracle: v0 + v1 + … + v(N−1) with every partial sum rounded to float32 (written independently of rank-order-sum.ts). */
export function rankOrderSum(inputs: readonly Float32Array[], order?: readonly number[]): Float32Array {
  const ranks = order ?? inputs.map((_, k) => k);
  const length = inputs[0]?.length ?? 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    let acc = Math.fround((inputs[ranks[0] as number] as Float32Array)[i] as number);
    for (let j = 1; j < ranks.length; j++) acc = Math.fround(acc + ((inputs[ranks[j] as number] as Float32Array)[i] as number));
    out[i] = acc;
  }
  return out;
}

/** Index of the first element whose bits differ, or −1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}
