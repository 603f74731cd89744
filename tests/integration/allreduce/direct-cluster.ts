import { randomBytes } from 'node:crypto';
import { PeerListener } from '@gradmesh/transport';
import { DirectPieceTransport } from '../../../worker/src/allreduce/direct-piece-transport.js';
import { RsagAllReduce, type RsagOptions } from '../../../worker/src/allreduce/rsag.js';
import { SharedMemoryPieceTransport } from '../../../worker/src/allreduce/shared-memory-piece-transport.js';
import { freshRunId } from './cluster.js';

/** N ranks of one run in this process whose pieces travel over direct links (no NATS at all). */
export interface DirectCluster {
  readonly runId: string;
  readonly secret: Uint8Array;
  readonly listeners: PeerListener[];
  readonly transports: DirectPieceTransport[];
  /** The shared-memory layer of each rank, when started with `sharedMemory`. */
  readonly sharedMemory: SharedMemoryPieceTransport[];
  readonly ranks: RsagAllReduce[];
  close(): Promise<void>;
}

/** Pieces through shared memory over the links (Note [pieces through shared memory]); `hostKeys[rank]` makes ranks act as separate hosts. */
export interface SharedMemoryChoice {
  readonly slotCount?: number;
  readonly hostKeys?: readonly string[];
  readonly segmentDir?: string;
}

export async function startDirectCluster(
  worldSize: number,
  options: Partial<Omit<RsagOptions, 'nc' | 'transport' | 'rank' | 'worldSize'>> = {},
  sharedMemory?: SharedMemoryChoice,
): Promise<DirectCluster> {
  const runId = options.runId ?? freshRunId('d');
  const generation = options.generation ?? 0;
  const secret = new Uint8Array(randomBytes(32));
  const listeners = await Promise.all(Array.from({ length: worldSize }, () => PeerListener.open({ host: '127.0.0.1' })));
  const addresses = listeners.map((l) => l.address);
  const transports = listeners.map((listener, rank) => new DirectPieceTransport({ listener, identity: { runId, generation, rank, worldSize, secret }, addresses, dialTimeoutMs: 5_000 }));
  const layered =
    sharedMemory === undefined
      ? []
      : transports.map((links, rank) => {
          const hostKey = sharedMemory.hostKeys?.[rank];
          return new SharedMemoryPieceTransport({
            links,
            rank,
            worldSize,
            ...(hostKey === undefined ? {} : { hostKey }),
            ...(sharedMemory.slotCount === undefined ? {} : { slotCount: sharedMemory.slotCount }),
            ...(sharedMemory.segmentDir === undefined ? {} : { segmentDir: sharedMemory.segmentDir }),
          });
        });
  const ranks = transports.map((links, rank) => new RsagAllReduce({ ...options, generation, transport: layered[rank] ?? links, runId, rank, worldSize }));
  return {
    runId,
    secret,
    listeners,
    transports,
    sharedMemory: layered,
    ranks,
    async close() {
      await Promise.all(ranks.map((r) => r.close()));
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
