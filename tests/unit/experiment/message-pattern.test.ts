import { describe, expect, it } from 'vitest';
import { defaultPieceBytes, messagePattern, windowFor } from '../../../experiment/src/simulator/message-pattern.js';
import { largestPieceFor as workerLargestPieceFor, windowFor as workerWindowFor } from '../../../worker/src/allreduce/flow.js';
import { planLayout } from '../../../worker/src/allreduce/ownership.js';

// Per message: 16-byte piece header + 72 bytes of NATS protocol text (message-pattern.ts).
const OVERHEAD = 88;

describe('the all-reduce message pattern (hand-computed cases)', () => {
  // 1000 float32 = 4000 bytes, N = 4: four chunks of 250 elements, one piece each (1000 B + 88).
  const piece = 1000 + OVERHEAD;
  const vector = 4 * piece;

  it('hub: the server receives N·S and sends 2(N−1)·S; each worker sends S and receives 2(N−1)/N·S', () => {
    const p = messagePattern(4, 4000, 'hub');
    expect(p.serverReceives).toEqual({ messages: 16, bytes: 4 * vector });
    expect(p.serverSends).toEqual({ messages: 24, bytes: 2 * 3 * vector });
    expect(p.links.find((l) => l.host === 'hub')).toEqual({ host: 'hub', tx: 26_112, rx: 17_408 });
    expect(p.links.find((l) => l.host === 'worker-2')).toEqual({ host: 'worker-2', tx: vector, rx: 6 * piece });
    expect(p.busiestLinkBytes).toBe(26_112);
    expect([p.linkHops, p.serverHops, p.servers]).toEqual([4, 2, 1]);
  });

  it('per-host: every host link carries 2(N−1)/N·S each way (the ring bound), worker↔server stays on the host', () => {
    const p = messagePattern(4, 4000, 'per-host');
    for (const l of p.links) expect([l.tx, l.rx]).toEqual([6528, 6528]); // 3 rs pieces out + own ag piece to 3 servers
    expect(p.busiestLinkBytes).toBe(6528);
    expect(p.servers).toBe(4);
    // Each server: S from its worker + 6 pieces from routes in; 6 pieces to routes + 6 pieces to its worker out.
    expect(p.serverReceives).toEqual({ messages: 4 + 6, bytes: vector + 6 * piece });
    expect(p.serverSends).toEqual({ messages: 12, bytes: 12 * piece });
    expect([p.linkHops, p.serverHops]).toEqual([2, 4]);
  });

  it('for a large gradient the busiest link carries 2(N−1)·S on the hub and 2(N−1)/N·S per-host, within the framing overhead', () => {
    const S = 400e6;
    for (const n of [2, 3, 8, 64, 256]) {
      expect(messagePattern(n, S, 'hub').busiestLinkBytes / (2 * (n - 1) * S)).toBeCloseTo(1, 2);
      expect(messagePattern(n, S, 'per-host').busiestLinkBytes / ((2 * (n - 1)) / n * S)).toBeCloseTo(1, 2);
    }
  });

  it('uneven chunks: the busiest worker owns a chunk of ⌈L/N⌉ elements', () => {
    // 10 elements over 3 ranks: chunks of 4, 3, 3 elements; rank 0 receives 2 copies of 4 and the two other chunks.
    const p = messagePattern(3, 40, 'hub');
    expect(p.workerReceives).toEqual({ messages: 4, bytes: 2 * (16 + OVERHEAD) + 2 * (12 + OVERHEAD) });
    expect(p.workerPublishes.bytes).toBe(40 + 3 * OVERHEAD);
  });

  it('one worker sends nothing', () => {
    expect(messagePattern(1, 4000, 'hub').busiestLinkBytes).toBe(0);
  });

  it('direct links: in either topology each worker host link carries 2(N−1)/N·S each way, no server, one link each way per piece', () => {
    // 1000 B + 16-byte header + 4-byte length per frame; 3 rs pieces out + the own reduced piece to 3 peers.
    const frame = 1000 + 16 + 4;
    for (const topology of ['hub', 'per-host'] as const) {
      const p = messagePattern(4, 4000, topology, 'direct');
      for (const l of p.links) expect([l.tx, l.rx]).toEqual([6 * frame, 6 * frame]);
      expect(p.busiestLinkBytes).toBe(6 * frame);
      expect(p.workerPublishes).toEqual({ messages: 6, bytes: 6 * frame });
      expect(p.workerReceives).toEqual({ messages: 6, bytes: 6 * frame });
      expect([p.servers, p.serverReceives.bytes, p.serverSends.bytes, p.linkHops, p.serverHops]).toEqual([0, 0, 0, 2, 0]);
    }
    // Large gradients: the ring bound, on the hub topology too (its server is off the data path).
    for (const n of [2, 8, 256]) expect(messagePattern(n, 400e6, 'hub', 'direct').busiestLinkBytes / ((2 * (n - 1)) / n * 400e6)).toBeCloseTo(1, 2);
  });
});

describe('the pattern mirrors the worker all-reduce (worker/src/allreduce: ownership.ts, flow.ts)', () => {
  it('piece size, window, pieces per chunk and total pieces agree with planLayout/windowFor/largestPieceFor', () => {
    const maxPending = 64 << 20;
    for (const n of [2, 3, 4, 17, 33, 100, 256]) {
      const workerPiece = Math.max(4, Math.min(1 << 20, Math.floor(((1 << 20) - 16) / 4) * 4, workerLargestPieceFor(n, maxPending)));
      expect(defaultPieceBytes(n)).toBe(workerPiece);
      expect(windowFor(n, workerPiece)).toBe(workerWindowFor(n, workerPiece, maxPending));
      for (const elements of [1, 999, 1_059_850, 25_000_001]) {
        const layout = planLayout(elements, n, workerPiece / 4);
        const p = messagePattern(n, elements * 4, 'hub');
        expect(p.piecesPerChunk).toBe(Math.max(...layout.chunks.map((c) => c.pieceCount)));
        // The hub receives every piece once from each rank (N−1 rs copies + the owner's ag).
        expect(p.serverReceives.messages).toBe(n * layout.pieceCount);
      }
    }
  });
});
