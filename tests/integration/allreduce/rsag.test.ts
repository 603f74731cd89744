import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError } from '../../../shared/src/errors.js';
import { framePiece, PIECE_HEADER_BYTES } from '../../../shared/src/protocol/pieces.js';
import { allGatherSubject, reduceScatterSubject } from '../../../shared/src/protocol/subjects.js';
import { RsagAllReduce } from '../../../worker/src/allreduce/rsag.js';
import { pieceRange, planLayout } from '../../../worker/src/allreduce/ownership.js';
import { roundTrip } from '../../../shared/src/protocol/compression.js';
import { sumInRankOrder } from '../../../worker/src/allreduce/rank-order-sum.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';
import { firstBitDifference, rankOrderSum, rankVectors, startCluster } from './cluster.js';
import { expectBitwiseEqual, reduceOnAll } from './bitwise.js';

let nats: NatsHandle;
let intruder0: NatsConnection | undefined;

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

// Small pieces (1024 floats) so that short vectors still span several pieces and chunks.
const SMALL_PIECE_BYTES = 4096;
const P = SMALL_PIECE_BYTES / 4;

describe('rsag all-reduce equals the rank-order sum bit for bit', () => {
  const lengths = [1, 2, 3, 5, 1000, P + 1, 5 * P + 3, 4 * 7 * P + 13];
  for (const worldSize of [1, 2, 3, 4]) {
    it(`N = ${worldSize}, lengths ${lengths.join(', ')} (1 KiB-float pieces), one instance for all steps`, async () => {
      const cluster = await startCluster(nats.url, worldSize, { pieceBytes: SMALL_PIECE_BYTES });
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

  for (const compression of ['bf16', 'fp16'] as const) {
    it(`compression ${compression}, N = 2 and 3: every replica holds the same bits — the rank-order sum of the rounded contributions, rounded — at about half the bytes`, async () => {
      for (const worldSize of [2, 3]) {
        const plain = await startCluster(nats.url, worldSize, { pieceBytes: SMALL_PIECE_BYTES });
        const cluster = await startCluster(nats.url, worldSize, { pieceBytes: SMALL_PIECE_BYTES, compression });
        try {
          const length = 5 * P + 3;
          const inputs = rankVectors(worldSize, length, 77 + worldSize).map((v) => v.map((x) => x * 1e3)); // sums beyond fp16's range
          inputs[0]![5] = Number.NaN; // a poisoned gradient stays visible to the NaN guard
          // The reference, piece by piece (fp16 scales per piece): round each contribution, sum in rank order, round.
          const layout = planLayout(length, worldSize, P);
          const expected = new Float32Array(length);
          for (let piece = 0; piece < layout.pieceCount; piece++) {
            const { start, length: n } = pieceRange(layout, piece);
            const parts = inputs.map((v) => {
              const part = v.slice(start, start + n);
              roundTrip(compression, part);
              return part;
            });
            const sum = new Float32Array(n);
            sumInRankOrder(sum, parts);
            roundTrip(compression, sum);
            expected.set(sum, start);
          }
          const outputs = inputs.map((v) => v.slice());
          const timings = await Promise.all(cluster.ranks.map((r, k) => r.allReduce(0, outputs[k]!)));
          expectBitwiseEqual(outputs, expected);
          expect(Number.isNaN(outputs[1]![5])).toBe(true);
          // Close to the float32 result (relative error of the 16-bit format), and half its bytes.
          const exact = inputs.map((v) => v.slice());
          const plainTimings = await Promise.all(plain.ranks.map((r, k) => r.allReduce(0, exact[k]!)));
          // Each of the N contributions and the sum is rounded once: the error is bounded by the format's relative
          // precision times the sum of the magnitudes (fp16 also underflows below the piece's largest value · 2^-24).
          const unit = compression === 'bf16' ? 2 ** -8 : 2 ** -11;
          const largest = Math.max(...inputs.flatMap((v) => Array.from(v, Math.abs).filter(Number.isFinite))) * worldSize;
          for (let i = 0; i < length; i++) {
            if (i === 5) continue;
            const magnitudes = inputs.reduce((a, v) => a + Math.abs(v[i]!), 0);
            expect(Math.abs(outputs[0]![i]! - exact[0]![i]!)).toBeLessThanOrEqual((worldSize + 1) * unit * magnitudes + (compression === 'fp16' ? largest * 2 ** -23 : 0));
          }
          const full = plainTimings.reduce((a, t) => a + t.bytesSent, 0); // what the float32 all-reduce published
          const sent = timings.reduce((a, t) => a + t.bytesSent, 0);
          expect(sent / full).toBeGreaterThan(0.45);
          expect(sent / full).toBeLessThan(0.56);
          for (const r of cluster.ranks) expect(r.drops.count()).toBe(0);
        } finally {
          await cluster.close();
          await plain.close();
        }
      }
    });
  }

  it('a piece of another encoding (a rank with another compression setting) is dropped as malformed, never summed', async () => {
    const cluster = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES, compression: 'bf16', logger: () => {} });
    try {
      intruder0 = intruder0 ?? (await connect({ servers: nats.url }));
      intruder0.publish(reduceScatterSubject(cluster.runId, 0, '1'), framePiece({ family: 'rs', source: 1, generation: 0, step: 0, piece: 0 }, new Float32Array(P / 2)));
      await intruder0.flush();
      await cluster.connections[0]!.flush();
      const inputs = rankVectors(2, 2 * P, 5);
      const outputs = inputs.map((v) => v.slice());
      await Promise.all(cluster.ranks.map((r, k) => r.allReduce(0, outputs[k]!)));
      expect(cluster.ranks[0]!.drops.count('rs', 'malformed')).toBe(1);
      expectBitwiseEqual(outputs.slice(1), outputs[0]!);
    } finally {
      await cluster.close();
      await intruder0?.close();
      intruder0 = undefined;
    }
  });

  it('N = 1 leaves the vector untouched and returns at once', async () => {
    const cluster = await startCluster(nats.url, 1);
    try {
      const v = new Float32Array([1.5, -2, 3]);
      const timings = await cluster.ranks[0]!.allReduce(0, v);
      expect(Array.from(v)).toEqual([1.5, -2, 3]);
      expect(timings.bytesSent).toBe(0);
    } finally {
      await cluster.close();
    }
  });

  it('negative control: for N ≥ 3 the test vectors make reverse-order and rank-order sums differ', () => {
    const inputs = rankVectors(3, 1000, 7);
    expect(firstBitDifference(rankOrderSum(inputs), rankOrderSum(inputs, [2, 1, 0]))).not.toBe(-1);
  });

  it('default pieces (1 MiB − 16 bytes, within max_payload): a length just over one piece and not divisible by N, N = 3', async () => {
    const cluster = await startCluster(nats.url, 3);
    try {
      const piece = cluster.ranks[0]!.pieceBytes;
      expect(piece + PIECE_HEADER_BYTES).toBeLessThanOrEqual(cluster.connections[0]!.info!.max_payload);
      const length = 3 * (piece / 4) + 4;
      const inputs = rankVectors(3, length, 11);
      expectBitwiseEqual(await reduceOnAll(cluster, 0, inputs), rankOrderSum(inputs));
    } finally {
      await cluster.close();
    }
  });

  for (const worldSize of [2, 3, 4]) {
    it(`N = ${worldSize}, 10 000 019 elements (> 10 M, prime; default pieces)`, async () => {
      const length = 10_000_019;
      const cluster = await startCluster(nats.url, worldSize);
      try {
        const inputs = rankVectors(worldSize, length, 99);
        expectBitwiseEqual(await reduceOnAll(cluster, 0, inputs), rankOrderSum(inputs));
      } finally {
        await cluster.close();
      }
    });
  }

  it('N = 3, default pieces, 4 steps of 3 000 017 elements: recycled receive buffers and recycled frames stay bitwise right', async () => {
    const cluster = await startCluster(nats.url, 3);
    try {
      for (let step = 0; step < 4; step++) {
        const inputs = rankVectors(3, 3_000_017, 70 + step);
        expectBitwiseEqual(await reduceOnAll(cluster, step, inputs), rankOrderSum(inputs));
      }
      for (const r of cluster.ranks) expect(r.drops.count()).toBe(0);
    } finally {
      await cluster.close();
    }
  });

  it('a late rank with default (recycled) pieces: early frames are kept as they are and summed right', async () => {
    const cluster = await startCluster(nats.url, 3);
    try {
      const inputs = rankVectors(3, 1_500_007, 6);
      const outputs = inputs.map((v) => v.slice());
      const early = [cluster.ranks[0]!.allReduce(0, outputs[0]!), cluster.ranks[1]!.allReduce(0, outputs[1]!)];
      await Promise.all(cluster.connections.map((nc) => nc.flush()));
      await new Promise((r) => setTimeout(r, 100));
      await Promise.all([...early, cluster.ranks[2]!.allReduce(0, outputs[2]!)]);
      expectBitwiseEqual(outputs, rankOrderSum(inputs));
      expect(cluster.ranks[2]!.drops.count()).toBe(0);
    } finally {
      await cluster.close();
    }
  });

  it('a later step with another vector length re-plans the layout (steps need not be consecutive)', async () => {
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      for (const [step, length] of [[3, 2500], [10, 7], [11, 2500]] as const) {
        const inputs = rankVectors(3, length, step);
        expectBitwiseEqual(await reduceOnAll(cluster, step, inputs), rankOrderSum(inputs));
      }
    } finally {
      await cluster.close();
    }
  });

  it('a rank that starts a step late receives the pieces a faster peer sent early (buffered, not dropped)', async () => {
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      const inputs = rankVectors(3, 5 * P, 5);
      const outputs = inputs.map((v) => v.slice());
      const early = [cluster.ranks[0]!.allReduce(0, outputs[0]!), cluster.ranks[1]!.allReduce(0, outputs[1]!)];
      await Promise.all(cluster.connections.map((nc) => nc.flush()));
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all([...early, cluster.ranks[2]!.allReduce(0, outputs[2]!)]);
      expectBitwiseEqual(outputs, rankOrderSum(inputs));
      expect(cluster.ranks[2]!.drops.count()).toBe(0);
    } finally {
      await cluster.close();
    }
  });

  it('two runs on one server at the same time do not see each other (subjects are per run)', async () => {
    const a = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES });
    const b = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      const ia = rankVectors(2, 3000, 1);
      const ib = rankVectors(2, 3000, 2);
      const [oa, ob] = await Promise.all([reduceOnAll(a, 0, ia), reduceOnAll(b, 0, ib)]);
      expectBitwiseEqual(oa, rankOrderSum(ia));
      expectBitwiseEqual(ob, rankOrderSum(ib));
      for (const r of [...a.ranks, ...b.ranks]) expect(r.drops.count()).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('rsag all-reduce ignores and counts bad frames on its subjects', () => {
  let intruder: NatsConnection;
  beforeAll(async () => {
    intruder = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await intruder?.close();
  });

  it('malformed bytes, wrong version, foreign generation, wrong family, bad piece and stale steps are dropped; the sum stays exact', async () => {
    const lines: string[] = [];
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES, logger: (l) => lines.push(l) });
    try {
      const { runId } = cluster;
      const length = 3 * P;
      const first = rankVectors(3, length, 21);
      await reduceOnAll(cluster, 1, first);

      const values = new Float32Array(P);
      const rs0 = reduceScatterSubject(runId, 0, '1');
      // Garbage on rank 0's reduce-scatter subject and on the all-gather subject rank 0 listens to.
      intruder.publish(rs0, new Uint8Array([1, 2, 3]));
      intruder.publish(allGatherSubject(runId, 1, '1'), new Uint8Array(PIECE_HEADER_BYTES + 6));
      const wrongVersion = framePiece({ family: 'rs', source: 1, generation: 0, step: 2, piece: 0 }, values);
      wrongVersion[0] = 99;
      intruder.publish(rs0, wrongVersion);
      intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 7, step: 2, piece: 0 }, values));
      intruder.publish(rs0, framePiece({ family: 'ag', source: 1, generation: 0, step: 2, piece: 0 }, values));
      intruder.publish(rs0, framePiece({ family: 'rs', source: 9, generation: 0, step: 2, piece: 0 }, values));
      // Stale: step 1 is over, step 0 never ran here.
      intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 0, step: 1, piece: 0 }, values));
      intruder.publish(reduceScatterSubject(runId, 0, '2'), framePiece({ family: 'rs', source: 2, generation: 0, step: 0, piece: 0 }, values));
      await intruder.flush();
      await cluster.connections[0]!.flush();

      const second = rankVectors(3, length, 22);
      expectBitwiseEqual(await reduceOnAll(cluster, 2, second), rankOrderSum(second));

      const drops = cluster.ranks[0]!.drops;
      expect(drops.count('rs', 'malformed')).toBe(3); // 3 bytes; family ag on rs; source 9
      expect(drops.count('ag', 'malformed')).toBe(1); // 6-byte payload
      expect(drops.count('rs', 'version')).toBe(1);
      expect(drops.count('rs', 'foreign-generation')).toBe(1);
      expect(drops.count('rs', 'stale-step')).toBe(2);
      expect(drops.count()).toBe(8);
      // Rank 2 listens to ag.1 as well; rank 1 saw nothing bad.
      expect(cluster.ranks[2]!.drops.snapshot()).toEqual({ 'ag/malformed': 1 });
      expect(cluster.ranks[1]!.drops.count()).toBe(0);
      // Logged once per (kind, reason) and rank: 5 pairs on rank 0, 1 on rank 2 — not once per message.
      expect(lines, lines.join('\n')).toHaveLength(6);
    } finally {
      await cluster.close();
    }
  });

  it('early frames are bounded by the run: steps past the window, wrong shapes and a flood are dropped at once, and the budget is the model size', async () => {
    const length = 3 * P;
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, firstStep: 10, logger: () => {} });
    try {
      const { runId } = cluster;
      const rank0 = cluster.ranks[0]!;
      const rs0 = reduceScatterSubject(runId, 0, '1');
      const piece = new Float32Array(P);
      // Before the first step: only steps 10 and 11 may be kept.
      intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 0, step: 12, piece: 0 }, piece));
      // 10 000 tiny pieces for step 2^32 − 1 (the issue asks 10^6 of a hostile client; see the security tests).
      for (let i = 0; i < 10_000; i++) intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 0, step: 0xffffffff, piece: 0 }, piece.subarray(0, 1)));
      // In the window but of the wrong shape: too few values, a piece of another owner's chunk.
      intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 0, step: 10, piece: 0 }, piece.subarray(0, 3)));
      intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 0, step: 10, piece: 1 }, piece));
      await intruder.flush();
      await cluster.connections[0]!.flush();
      expect(rank0.drops.count('rs', 'out-of-bounds')).toBe(10_001);
      expect(rank0.drops.count('rs', 'malformed')).toBe(2);
      // Nothing of it was buffered; the run goes on bit for bit.
      const inputs = rankVectors(3, length, 41);
      expectBitwiseEqual(await reduceOnAll(cluster, 10, inputs), rankOrderSum(inputs));
      // After step 10, a frame for step 13 is past the window (10 + 2).
      intruder.publish(rs0, framePiece({ family: 'rs', source: 1, generation: 0, step: 13, piece: 0 }, piece));
      await intruder.flush();
      await cluster.connections[0]!.flush();
      expect(rank0.drops.count('rs', 'out-of-bounds')).toBe(10_002);
    } finally {
      await cluster.close();
    }
  });

  it('the early budget (from the vector length) caps what each peer can make a rank hold: one flooding peer cannot push out another\'s frames', async () => {
    const length = 3 * P;
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, firstStep: 0, logger: () => {} });
    try {
      const piece = new Float32Array(P);
      // Rank 0 receives per step from each peer: its copy of chunk 0 (P values) and its reduced chunk (P values),
      // 2 frames; each peer's share holds two steps of that: 4 frames. 20 early frames of step 1 from rank 1
      // overflow rank 1's share only; rank 2's frames are still kept.
      const frame = PIECE_HEADER_BYTES + 4 * P;
      const share = 2 * (2 * 4 * P + 2 * PIECE_HEADER_BYTES);
      for (let i = 0; i < 20; i++) intruder.publish(reduceScatterSubject(cluster.runId, 0, '1'), framePiece({ family: 'rs', source: 1, generation: 0, step: 1, piece: 0 }, piece));
      for (let i = 0; i < 3; i++) intruder.publish(reduceScatterSubject(cluster.runId, 0, '2'), framePiece({ family: 'rs', source: 2, generation: 0, step: 1, piece: 0 }, piece));
      await intruder.flush();
      await cluster.connections[0]!.flush();
      expect(cluster.ranks[0]!.drops.count('rs', 'overflow')).toBe(20 - Math.floor(share / frame));
    } finally {
      await cluster.close();
    }
  });

  it('a piece is held to the identity its subject proves: rank 2\'s piece on worker "1"\'s subject, or rank 1\'s on "2"\'s, is dropped as wrong-sender', async () => {
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES, members: ['alice', 'bob', 'carol'], logger: () => {} });
    try {
      const { runId } = cluster;
      const length = 3 * P;
      const poison = new Float32Array(P).fill(1e30);
      // Pieces for the coming step 0, each claiming a source rank that is not the subject's sender.
      intruder.publish(reduceScatterSubject(runId, 0, 'bob'), framePiece({ family: 'rs', source: 2, generation: 0, step: 0, piece: 0 }, poison));
      intruder.publish(reduceScatterSubject(runId, 0, 'carol'), framePiece({ family: 'rs', source: 1, generation: 0, step: 0, piece: 0 }, poison));
      intruder.publish(reduceScatterSubject(runId, 0, 'mallory'), framePiece({ family: 'rs', source: 1, generation: 0, step: 0, piece: 0 }, poison));
      await intruder.flush();
      await cluster.connections[0]!.flush();
      expect(cluster.ranks[0]!.drops.count('rs', 'wrong-sender')).toBe(3);
      const inputs = rankVectors(3, length, 51);
      expectBitwiseEqual(await reduceOnAll(cluster, 0, inputs), rankOrderSum(inputs));
    } finally {
      await cluster.close();
    }
  });

  it('a duplicate piece in the running step is dropped as duplicate, not summed twice', async () => {
    const cluster = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      const inputs = rankVectors(2, 4 * P, 31);
      const outputs = inputs.map((v) => v.slice());
      // Rank 1 runs first; rank 0 starts after the pieces are in and then sees a replay of rank 1's piece 0.
      const p1 = cluster.ranks[1]!.allReduce(5, outputs[1]!);
      await cluster.connections[1]!.flush();
      await cluster.connections[0]!.flush();
      intruder.publish(reduceScatterSubject(cluster.runId, 0, '1'), framePiece({ family: 'rs', source: 1, generation: 0, step: 5, piece: 0 }, inputs[1]!.subarray(0, P)));
      await intruder.flush();
      await cluster.connections[0]!.flush();
      await Promise.all([cluster.ranks[0]!.allReduce(5, outputs[0]!), p1]);
      expectBitwiseEqual(outputs, rankOrderSum(inputs));
      expect(cluster.ranks[0]!.drops.count('rs', 'duplicate')).toBe(1);
    } finally {
      await cluster.close();
    }
  });
});

describe('rsag all-reduce failures', () => {
  it('a missing rank rejects with a ClusterError naming the rank, the step and the chunk within the timeout', async () => {
    const cluster = await startCluster(nats.url, 3, { pieceBytes: SMALL_PIECE_BYTES, timeoutMs: 400 });
    try {
      const inputs = rankVectors(3, 6 * P, 41);
      // Rank 2 never calls allReduce.
      const results = await Promise.allSettled([cluster.ranks[0]!.allReduce(4, inputs[0]!), cluster.ranks[1]!.allReduce(4, inputs[1]!)]);
      for (const [rank, result] of results.entries()) {
        expect(result.status).toBe('rejected');
        const error = (result as PromiseRejectedResult).reason as ClusterError;
        expect(error).toBeInstanceOf(ClusterError);
        expect(error.context['step']).toBe(4);
        expect(error.context['rank']).toBe(2);
        expect(error.message).toContain(`no pieces of chunk ${rank} (owned by this rank) from rank(s) 2`);
        expect(error.message).toMatch(/from their owner rank\(s\) (\d, )*2$|from their owner rank\(s\) (\d, )*2 /);
      }
      // The instance stays usable: the next step works once everyone takes part.
      const next = rankVectors(3, 100, 42);
      expectBitwiseEqual(await reduceOnAll(cluster, 5, next), rankOrderSum(next));
    } finally {
      await cluster.close();
    }
  });

  it('each step gets its full timeout from its own start, after earlier steps completed (one watchdog per instance)', async () => {
    const timeoutMs = 400;
    const cluster = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES, timeoutMs });
    try {
      // Step 0 completes and leaves the watchdog armed; step 1 starts well into step 0's timeout period.
      const inputs = rankVectors(2, 3 * P, 43);
      expectBitwiseEqual(await reduceOnAll(cluster, 0, inputs), rankOrderSum(inputs));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Rank 1 never takes part in step 1: rank 0's step must fail, and not before its own timeout has passed.
      const started = performance.now();
      const error = await cluster.ranks[0]!.allReduce(1, inputs[0]!.slice()).then(
        () => undefined,
        (e: unknown) => e,
      );
      const waited = performance.now() - started;
      expect(error).toBeInstanceOf(ClusterError);
      expect((error as ClusterError).message).toContain(`timed out after ${timeoutMs} ms`);
      expect(waited).toBeGreaterThanOrEqual(timeoutMs - 5);
    } finally {
      await cluster.close();
    }
  });

  it('close() rejects a pending step with a ClusterError; later calls reject too', async () => {
    const cluster = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      const pending = cluster.ranks[0]!.allReduce(0, new Float32Array(10));
      await cluster.ranks[0]!.close();
      await expect(pending).rejects.toBeInstanceOf(ClusterError);
      await expect(cluster.ranks[0]!.allReduce(1, new Float32Array(10))).rejects.toThrow(/closed/);
    } finally {
      await cluster.close();
    }
  });

  it('rejects misuse: a step not above the previous one, a second concurrent step', async () => {
    const cluster = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES });
    try {
      const inputs = rankVectors(2, 10, 1);
      await reduceOnAll(cluster, 3, inputs);
      await expect(cluster.ranks[0]!.allReduce(3, new Float32Array(10))).rejects.toThrow(/must be an integer > the previous step 3/);
      const running = cluster.ranks[0]!.allReduce(4, new Float32Array(10));
      await expect(cluster.ranks[0]!.allReduce(5, new Float32Array(10))).rejects.toThrow(/still running/);
      await Promise.all([running, cluster.ranks[1]!.allReduce(4, new Float32Array(10))]);
    } finally {
      await cluster.close();
    }
  });

  it('rejects a piece size above the server max_payload with a ConfigError naming pieceBytes', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const limit = nc.info!.max_payload;
      expect(() => new RsagAllReduce({ nc, runId: 'x', rank: 0, worldSize: 2, generation: 0, pieceBytes: limit })).toThrow(/pieceBytes.*max_payload/);
      expect(() => new RsagAllReduce({ nc, runId: 'bad.run', rank: 0, worldSize: 2, generation: 0 })).toThrow(/runId/);
      expect(() => new RsagAllReduce({ nc, runId: 'x', rank: 2, worldSize: 2, generation: 0 })).toThrow(/rank/);
    } finally {
      await nc.close();
    }
  });
});

describe('bucketed all-reduce (begin/release): Note [buckets in the layout]', () => {
  // Buckets in release order = reverse layout order, of uneven sizes, some shorter than a piece or than N elements.
  const bucketsOf = (length: number) => {
    const cuts = [0, 2, Math.floor(length / 3), Math.floor(length / 3) + 1, length - P - 1, length].filter((c, i, a) => i === 0 || c > a[i - 1]!);
    return cuts.slice(1).map((end, i) => ({ start: cuts[i]!, end })).reverse();
  };

  for (const compression of ['none', 'fp16'] as const) {
    // float32: bitwise the whole-vector result. fp16 scales per piece and pieces follow the buckets, so there the
    // property is that every replica holds the same bits (and is within fp16 rounding of the whole-vector result).
    it(`compression ${compression}, N = 2, 3, 4: releasing buckets one by one, at different times on each rank, gives ${compression === 'none' ? 'bitwise the result of the whole-vector all-reduce' : 'the same bits on every rank'}`, async () => {
      const length = 4 * P + 37;
      const buckets = bucketsOf(length);
      for (const worldSize of [2, 3, 4]) {
        const whole = await startCluster(nats.url, worldSize, { pieceBytes: SMALL_PIECE_BYTES, compression });
        const bucketed = await startCluster(nats.url, worldSize, { pieceBytes: SMALL_PIECE_BYTES, compression, vectorLength: length, buckets });
        try {
          for (let step = 0; step < 3; step++) {
            const inputs = rankVectors(worldSize, length, 500 + 10 * worldSize + step);
            const expected = inputs.map((v) => v.slice());
            await Promise.all(whole.ranks.map((r, k) => r.allReduce(step, expected[k]!)));
            const outputs = inputs.map((v) => v.slice());
            await Promise.all(
              bucketed.ranks.map(async (r, k) => {
                const running = r.begin(step, outputs[k]!);
                expect(running.bucketCount).toBe(buckets.length);
                for (let b = 0; b < buckets.length; b++) {
                  // Rank k waits k·(b+1) ms before each release: peers' pieces arrive before a bucket is released here.
                  await new Promise((resolve) => setTimeout(resolve, k * (b + 1)));
                  running.release(b);
                }
                await running.done;
              }),
            );
            const reference = compression === 'none' ? expected[0]! : outputs[0]!;
            outputs.forEach((out, rank) => expect(firstBitDifference(out, reference), `rank ${rank}, N = ${worldSize}, step ${step}`).toBe(-1));
            if (compression !== 'none') for (let i = 0; i < length; i++) expect(Math.abs(outputs[0]![i]! - expected[0]![i]!)).toBeLessThanOrEqual(Math.abs(expected[0]![i]!) * 2 ** -9 + 2 ** -14);
          }
          for (const r of bucketed.ranks) expect(r.drops.count()).toBe(0);
        } finally {
          await whole.close();
          await bucketed.close();
        }
      }
    });
  }

  it('a bucket not released yet is neither sent nor overwritten; release out of order throws; cancel rejects the step', async () => {
    const length = 3 * P;
    const buckets = [
      { start: 2 * P, end: 3 * P },
      { start: 0, end: 2 * P },
    ];
    const cluster = await startCluster(nats.url, 2, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, buckets });
    try {
      const inputs = rankVectors(2, length, 9);
      const outputs = inputs.map((v) => v.slice());
      const running = cluster.ranks.map((r, k) => r.begin(0, outputs[k]!));
      let finished = false;
      void Promise.all(running.map((s) => s.done)).then(() => (finished = true));
      for (const s of running) s.release(0);
      // Bucket 0 completes on both ranks; bucket 1 stays as each rank left it.
      const expected = rankOrderSum(inputs);
      await expect.poll(() => firstBitDifference(outputs[1]!.subarray(2 * P), expected.subarray(2 * P)), { timeout: 5000 }).toBe(-1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(firstBitDifference(outputs[0]!.subarray(0, 2 * P), inputs[0]!.subarray(0, 2 * P))).toBe(-1);
      expect(finished).toBe(false);
      expect(() => running[0]!.release(0)).toThrow(/out of order/);
      for (const s of running) s.release(1);
      await Promise.all(running.map((s) => s.done));
      outputs.forEach((out) => expect(firstBitDifference(out, expected)).toBe(-1));
      // A step whose computation failed: cancel rejects it, and the next step runs normally.
      const next = cluster.ranks.map((r, k) => r.begin(1, outputs[k]!));
      next[0]!.cancel('backward failed');
      await expect(next[0]!.done).rejects.toThrow(/cancelled: backward failed/);
    } finally {
      await cluster.close();
    }
  });
});
