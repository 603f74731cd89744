import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sharedMemoryMapper } from '@gradmesh/transport';
import { rankOrderSum, rankVectors } from './cluster.js';
import { expectBitwiseEqual, reduceOnAll } from './bitwise.js';
import { startDirectCluster, type DirectCluster } from './direct-cluster.js';

// Note [pieces through shared memory] in worker/src/allreduce/shared-memory-piece-transport.ts.
const noMapper = 'reason' in sharedMemoryMapper();
const SMALL_PIECE_BYTES = 4096;
const P = SMALL_PIECE_BYTES / 4;
const HOST_A = 'a'.repeat(64);
const HOST_B = 'b'.repeat(64);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync('/dev/shm/gradmesh-test-');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function memoryFrames(cluster: DirectCluster): number {
  return cluster.sharedMemory.reduce((sum, t) => sum + t.sent.memory, 0);
}

function linkFrames(cluster: DirectCluster): number {
  return cluster.sharedMemory.reduce((sum, t) => sum + t.sent.links, 0);
}

describe.skipIf(noMapper)('through shared memory the all-reduce equals the rank-order sum bit for bit (as over the links alone)', () => {
  const lengths = [1, 3, 1000, P + 1, 5 * P + 3, 4 * 7 * P + 13];
  for (const worldSize of [2, 3, 4]) {
    it(`N = ${worldSize}, lengths ${lengths.join(', ')}: once the offers are answered every frame goes through memory; no drop; no segment file left`, async () => {
      const cluster = await startDirectCluster(worldSize, { pieceBytes: SMALL_PIECE_BYTES }, { segmentDir: dir });
      try {
        let step = 0;
        // Two steps of one value: the offers travel with the first frames, the answers come back meanwhile.
        for (const warmup of [0, 1]) {
          const inputs = rankVectors(worldSize, 1, warmup);
          expectBitwiseEqual(await reduceOnAll(cluster, step++, inputs), rankOrderSum(inputs));
        }
        const linksAfterWarmup = linkFrames(cluster);
        for (const length of lengths) {
          const inputs = rankVectors(worldSize, length, 1000 * worldSize + length);
          expectBitwiseEqual(await reduceOnAll(cluster, step++, inputs), rankOrderSum(inputs));
        }
        for (const r of cluster.ranks) expect(r.drops.count()).toBe(0);
        expect(memoryFrames(cluster)).toBeGreaterThan(0);
        expect(linkFrames(cluster)).toBe(linksAfterWarmup);
        for (const t of cluster.sharedMemory) for (const p of t.peerPaths()) expect(p.path).toBe('memory');
        // Every peer answered, so every segment's name is gone already (Note [a segment per rank and generation]).
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        await cluster.close();
      }
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('default 1 MiB pieces, N = 3, 3 000 017 elements over 3 steps: the same bits as over the links alone', async () => {
    const inputs = [0, 1, 2].map((step) => rankVectors(3, 3_000_017, 31 + step));
    const viaMemory = await startDirectCluster(3, {}, { segmentDir: dir });
    const viaLinks = await startDirectCluster(3);
    try {
      for (let step = 0; step < 3; step++) {
        const a = await reduceOnAll(viaMemory, step, inputs[step]!);
        const b = await reduceOnAll(viaLinks, step, inputs[step]!);
        expectBitwiseEqual(a, rankOrderSum(inputs[step]!));
        expectBitwiseEqual(a, b[0]!);
      }
      expect(memoryFrames(viaMemory)).toBeGreaterThan(0);
    } finally {
      await viaMemory.close();
      await viaLinks.close();
    }
  });

  it('one slot per rank: frames that find no free slot go over the links, in order — the same bits, no deadlock', async () => {
    const cluster = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES }, { segmentDir: dir, slotCount: 1 });
    try {
      for (let step = 0; step < 4; step++) {
        const inputs = rankVectors(3, 9 * P + 7, 50 + step);
        expectBitwiseEqual(await reduceOnAll(cluster, step, inputs), rankOrderSum(inputs));
      }
      const afterWarmup = linkFrames(cluster);
      const inputs = rankVectors(3, 9 * P + 7, 99);
      expectBitwiseEqual(await reduceOnAll(cluster, 4, inputs), rankOrderSum(inputs));
      expect(memoryFrames(cluster)).toBeGreaterThan(0);
      expect(linkFrames(cluster)).toBeGreaterThan(afterWarmup);
    } finally {
      await cluster.close();
    }
  });

  it('ranks 0, 1 on one host and rank 2 on another: 0 ↔ 1 through memory, rank 2 over the links — the same bits', async () => {
    const cluster = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES }, { segmentDir: dir, hostKeys: [HOST_A, HOST_A, HOST_B] });
    try {
      for (let step = 0; step < 3; step++) {
        const inputs = rankVectors(3, 6 * P + 1, 70 + step);
        expectBitwiseEqual(await reduceOnAll(cluster, step, inputs), rankOrderSum(inputs));
      }
      const paths = cluster.sharedMemory.map((t) => Object.fromEntries(t.peerPaths().map((p) => [p.peer, p.path])));
      expect(paths).toEqual([
        { 1: 'memory', 2: 'links' },
        { 0: 'memory', 2: 'links' },
        { 0: 'links', 1: 'links' },
      ]);
      expect(cluster.sharedMemory[2]!.sent.memory).toBe(0);
      expect(cluster.sharedMemory[2]!.refusals().filter((r) => r !== undefined).every((r) => r!.includes('another host'))).toBe(true);
    } finally {
      await cluster.close();
    }
  });

  it('bucketed steps with allGatherForwardFirst and a rank that releases late: the same bits', async () => {
    const length = 12 * P + 5;
    const buckets = [
      { start: 2 * P, end: length },
      { start: 0, end: 2 * P },
    ];
    const cluster = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES, vectorLength: length, buckets, allGatherForwardFirst: true }, { segmentDir: dir });
    try {
      for (let step = 0; step < 3; step++) {
        const inputs = rankVectors(3, length, 9 + step);
        const outputs = inputs.map((v) => v.slice());
        const steps = cluster.ranks.map((r, k) => r.begin(step, outputs[k]!));
        steps[0]!.release(0);
        steps[1]!.release(0);
        steps[1]!.release(1);
        await new Promise((resolve) => setTimeout(resolve, 10));
        steps[2]!.release(0);
        steps[0]!.release(1);
        steps[2]!.release(1);
        await Promise.all(steps.map((s) => s.done));
        expectBitwiseEqual(outputs, rankOrderSum(inputs));
      }
      expect(memoryFrames(cluster)).toBeGreaterThan(0);
    } finally {
      await cluster.close();
    }
  });

  it('compressed (bf16) pieces through memory: every replica holds the same bits as over the links alone', async () => {
    const inputs = rankVectors(3, 7 * P + 3, 123);
    const viaMemory = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES, compression: 'bf16' }, { segmentDir: dir });
    const viaLinks = await startDirectCluster(3, { pieceBytes: SMALL_PIECE_BYTES, compression: 'bf16' });
    try {
      for (let step = 0; step < 2; step++) {
        const a = await reduceOnAll(viaMemory, step, inputs);
        const b = await reduceOnAll(viaLinks, step, inputs);
        expectBitwiseEqual(a, b[0]!);
      }
      expect(memoryFrames(viaMemory)).toBeGreaterThan(0);
    } finally {
      await viaMemory.close();
      await viaLinks.close();
    }
  });
});
