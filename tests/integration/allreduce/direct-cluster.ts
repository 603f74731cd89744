import { randomBytes } from 'node:crypto';
import { PeerListener } from '@gradmesh/transport';
import { DirectPieceTransport } from '../../../worker/src/allreduce/direct-piece-transport.js';
import { RsagAllReduce, type RsagOptions } from '../../../worker/src/allreduce/rsag.js';
import { freshRunId } from './cluster.js';

/** N ranks of one run in this process whose pieces travel over direct links (no NATS at all). */
export interface DirectCluster {
  readonly runId: string;
  readonly secret: Uint8Array;
  readonly listeners: PeerListener[];
  readonly transports: DirectPieceTransport[];
  readonly ranks: RsagAllReduce[];
  close(): Promise<void>;
}

export async function startDirectCluster(worldSize: number, options: Partial<Omit<RsagOptions, 'nc' | 'transport' | 'rank' | 'worldSize'>> = {}): Promise<DirectCluster> {
  const runId = options.runId ?? freshRunId('d');
  const generation = options.generation ?? 0;
  const secret = new Uint8Array(randomBytes(32));
  const listeners = await Promise.all(Array.from({ length: worldSize }, () => PeerListener.open({ host: '127.0.0.1' })));
  const addresses = listeners.map((l) => l.address);
  const transports = listeners.map((listener, rank) => new DirectPieceTransport({ listener, identity: { runId, generation, rank, worldSize, secret }, addresses, dialTimeoutMs: 5_000 }));
  const ranks = transports.map((transport, rank) => new RsagAllReduce({ ...options, generation, transport, runId, rank, worldSize }));
  return {
    runId,
    secret,
    listeners,
    transports,
    ranks,
    async close() {
      await Promise.all(ranks.map((r) => r.close()));
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
