import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { writePieceFrame } from '../../../shared/src/protocol/pieces.js';
import { dialPeer, PeerListener } from '@gradmesh/transport';
import { ConnectionInterrupted } from '../../../worker/src/allreduce/connection-interrupted.js';
import { DirectPieceTransport } from '../../../worker/src/allreduce/direct-piece-transport.js';
import { RsagAllReduce } from '../../../worker/src/allreduce/rsag.js';
import { rankOrderSum, rankVectors } from './cluster.js';
import { expectBitwiseEqual, reduceOnAll } from './bitwise.js';
import { startDirectCluster } from './direct-cluster.js';

// Small pieces (1024 floats) so that short vectors still span several pieces and chunks.
const SMALL_PIECE_BYTES = 4096;
const P = SMALL_PIECE_BYTES / 4;

describe('over direct links the all-reduce equals the rank-order sum bit for bit (as through NATS)', () => {
  const lengths = [1, 3, 1000, P + 1, 5 * P + 3, 4 * 7 * P + 13];
  for (const worldSize of [2, 3, 4]) {
    it(`N = ${worldSize}, lengths ${lengths.join(', ')}, one instance for all steps, no frame dropped`, async () => {
      const cluster = await startDirectCluster(worldSize, { pieceBytes: SMALL_PIECE_BYTES });
      try {
        let step = 0;
        for (const length of lengths) {
          const inputs = rankVectors(worldSize, length, 1000 * worldSize + length);
          expectBitwiseEqual(await reduceOnAll(cluster, step++, inputs), rankOrderSum(inputs));
        }
        for (const r of cluster.ranks) expect(r.drops.count()).toBe(0);
      } finally {
        await cluster.close();
      }
    });
  }

  it('default 1 MiB pieces, N = 3, 3 000 017 elements over 3 steps (frames from the link pool are kept and released)', async () => {
    const cluster = await startDirectCluster(3);
    try {
      for (let step = 0; step < 3; step++) {
        const inputs = rankVectors(3, 3_000_017, 31 + step);
        expectBitwiseEqual(await reduceOnAll(cluster, step, inputs), rankOrderSum(inputs));
      }
    } finally {
      await cluster.close();
    }
  });

  it('bucketed steps (begin/release) with a rank that releases late: the same bits', async () => {
    const length = 6 * P + 5;
    const buckets = [
      { start: 3 * P, end: length },
      { start: 0, end: 3 * P },
    ];
    const cluster = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, buckets });
    try {
      const inputs = rankVectors(3, length, 9);
      const outputs = inputs.map((v) => v.slice());
      const steps = cluster.ranks.map((r, k) => r.begin(0, outputs[k]!));
      steps[0]!.release(0);
      steps[1]!.release(0);
      steps[1]!.release(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      steps[2]!.release(0);
      steps[0]!.release(1);
      steps[2]!.release(1);
      await Promise.all(steps.map((s) => s.done));
      expectBitwiseEqual(outputs, rankOrderSum(inputs));
    } finally {
      await cluster.close();
    }
  });
});

describe('Note [the first layers\' sums first]: allGatherForwardFirst', () => {
  // Bucket 0 (released first: the last layers) and bucket 1 (released last: the first layers).
  const length = 12 * P + 5;
  const buckets = [
    { start: 2 * P, end: length },
    { start: 0, end: 2 * P },
  ];

  for (const worldSize of [2, 3]) {
    it(`N = ${worldSize}: bucket 0's sums are held back until bucket 1 is released, then arrive after bucket 1's on every rank; the same bits`, async () => {
      const cluster = await startDirectCluster(worldSize, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, buckets, allGatherForwardFirst: true });
      try {
        const inputs = rankVectors(worldSize, length, 40 + worldSize);
        const outputs = inputs.map((v) => v.slice());
        const steps = cluster.ranks.map((r, k) => r.begin(0, outputs[k]!));
        const order: string[][] = steps.map(() => []);
        const settled = steps.map((s, k) => [0, 1].map((b) => s.reduced(b).then(() => order[k]!.push(`bucket ${b}`))));
        for (const s of steps) s.release(0);
        // Everything of bucket 0 could have been exchanged by now; its sums are held (no timing makes them come).
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(order).toEqual(steps.map(() => []));
        for (const s of steps) s.release(1);
        await Promise.all(settled.flat());
        await Promise.all(steps.map((s) => s.done));
        expect(order).toEqual(steps.map(() => ['bucket 1', 'bucket 0']));
        expectBitwiseEqual(outputs, rankOrderSum(inputs));
      } finally {
        await cluster.close();
      }
    });
  }

  it('without it (negative control) bucket 0\'s sums arrive as soon as every rank released it', async () => {
    const cluster = await startDirectCluster(2, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, buckets });
    try {
      const inputs = rankVectors(2, length, 7);
      const outputs = inputs.map((v) => v.slice());
      const steps = cluster.ranks.map((r, k) => r.begin(0, outputs[k]!));
      for (const s of steps) s.release(0);
      await Promise.all(steps.map((s) => s.reduced(0)));
      for (const s of steps) s.release(1);
      await Promise.all(steps.map((s) => s.done));
      expectBitwiseEqual(outputs, rankOrderSum(inputs));
    } finally {
      await cluster.close();
    }
  });

  it('N = 3, a window of 2 pieces and 10 pieces per chunk held back: at most window − 1 are held, so no rank waits forever; the same bits', async () => {
    // windowFor(3, 4096, 70 000) = 2 (flow.ts).
    const cluster = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: 32 * P, buckets: [{ start: 2 * P, end: 32 * P }, { start: 0, end: 2 * P }], allGatherForwardFirst: true, maxPendingBytes: 70_000, timeoutMs: 10_000 });
    try {
      expect(cluster.ranks[0]!.window).toBe(2);
      for (let step = 0; step < 2; step++) {
        const inputs = rankVectors(3, 32 * P, 60 + step);
        expectBitwiseEqual(await reduceOnAll(cluster, step, inputs), rankOrderSum(inputs));
      }
    } finally {
      await cluster.close();
    }
  });
});

describe('direct links fail fast and hold the sender to its rank', () => {
  it('a peer that dies mid-run fails the running step on the others at once with ConnectionInterrupted, and every later step too', async () => {
    const cluster = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES, timeoutMs: 60_000 });
    try {
      const inputs = rankVectors(3, 5 * P, 5);
      await reduceOnAll(cluster, 0, inputs);
      // Rank 2 dies: its links close (as when its process exits), and it never takes part in step 1.
      await cluster.ranks[2]!.close();
      await cluster.listeners[2]!.close();
      const started = performance.now();
      const outcomes = await Promise.allSettled([0, 1].map((k) => cluster.ranks[k]!.allReduce(1, inputs[k]!.slice())));
      for (const o of outcomes) {
        expect(o.status).toBe('rejected');
        const error = (o as PromiseRejectedResult).reason as Error;
        expect(error).toBeInstanceOf(ConnectionInterrupted);
        expect(error.message).toMatch(/rank 2/);
      }
      // Long before the 60 s step timeout (the link's close is the signal, not silence).
      expect(performance.now() - started).toBeLessThan(30_000);
      await expect(cluster.ranks[0]!.allReduce(2, inputs[0]!.slice())).rejects.toBeInstanceOf(ConnectionInterrupted);
    } finally {
      await cluster.close();
    }
  });

  it('a member that sends a piece claiming another rank as its source is dropped as wrong-sender; one under its own rank is not', async () => {
    // Ranks 0 and 1 of a world of 3; the test holds rank 2's identity (a member: it has the secret).
    const runId = `forge${process.pid}`;
    const secret = new Uint8Array(randomBytes(32));
    const listeners = await Promise.all([0, 1].map(() => PeerListener.open({ host: '127.0.0.1' })));
    const addresses = [...listeners.map((l) => l.address), '127.0.0.1:9'];
    const ranks = [0, 1].map(
      (rank) =>
        new RsagAllReduce({
          runId,
          rank,
          worldSize: 3,
          generation: 0,
          pieceBytes: SMALL_PIECE_BYTES,
          transport: new DirectPieceTransport({ listener: listeners[rank]!, identity: { runId, generation: 0, rank, worldSize: 3, secret }, addresses, dialTimeoutMs: 60_000 }),
          logger: () => undefined,
        }),
    );
    const forger = await dialPeer(listeners[0]!.address, { runId, generation: 0, rank: 2, worldSize: 3, secret }, 0, { timeoutMs: 5_000 });
    try {
      const piece = (source: number): Uint8Array => {
        const frame = new Uint8Array(16 + 4 * 8);
        writePieceFrame(frame, { family: 'rs', source, generation: 0, step: 0, piece: 0 }, 8).fill(1e6);
        return frame;
      };
      forger.send([piece(1)]);
      forger.send([piece(2)]);
      const deadline = performance.now() + 5_000;
      while (ranks[0]!.drops.count() === 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ranks[0]!.drops.snapshot()).toEqual({ 'rs/wrong-sender': 1 });
    } finally {
      forger.close();
      await Promise.all(ranks.map((r) => r.close()));
      await Promise.all(listeners.map((l) => l.close()));
    }
  });

  it('a dialer without the generation\'s secret never reaches the all-reduce: the sum is exact and nothing is dropped', async () => {
    const cluster = await startDirectCluster(2, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      await expect(dialPeer(cluster.listeners[0]!.address, { runId: cluster.runId, generation: 0, rank: 1, worldSize: 2, secret: new Uint8Array(randomBytes(32)) }, 0, { timeoutMs: 2_000 })).rejects.toThrow();
      const inputs = rankVectors(2, 5 * P + 1, 8);
      expectBitwiseEqual(await reduceOnAll(cluster, 0, inputs), rankOrderSum(inputs));
      for (const r of cluster.ranks) expect(r.drops.count()).toBe(0);
    } finally {
      await cluster.close();
    }
  });
});
