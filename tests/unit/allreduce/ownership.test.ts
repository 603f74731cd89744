import { InternalError } from '@gradmesh/shared/internal';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { chunkOfPiece, pieceRange, piecesOfChunk, planLayout } from '../../../worker/src/allreduce/ownership.js';

describe('planLayout (chunk ownership and pieces)', () => {
  it('exhaustively for L ≤ 40, N ≤ 6, P ≤ 9: every element lies in exactly one piece, pieces ≤ P, chunks balanced to one element', () => {
    for (let length = 0; length <= 40; length++) {
      for (let worldSize = 1; worldSize <= 6; worldSize++) {
        for (let p = 1; p <= 9; p++) {
          const layout = planLayout(length, worldSize, p);
          const where = `L=${length} N=${worldSize} P=${p}`;
          const hits = new Uint8Array(length);
          let next = 0;
          let pieces = 0;
          const sizes = layout.chunks.map((c) => c.length);
          expect(Math.max(...sizes) - Math.min(...sizes), where).toBeLessThanOrEqual(1);
          for (const [c, chunk] of layout.chunks.entries()) {
            expect(chunk.owner, where).toBe(c);
            expect(chunk.start, where).toBe(next); // chunks are contiguous and in rank order
            expect(chunk.firstPiece, where).toBe(pieces);
            let inChunk = chunk.start;
            for (const piece of piecesOfChunk(layout, c)) {
              expect(piece.length, where).toBeGreaterThan(0);
              expect(piece.length * 4, where).toBeLessThanOrEqual(p * 4); // byte size within the limit
              expect(piece.start, where).toBe(inChunk); // pieces contiguous inside the chunk
              expect(pieceRange(layout, piece.piece), where).toEqual(piece);
              expect(chunkOfPiece(layout, piece.piece), where).toBe(c);
              for (let i = piece.start; i < piece.start + piece.length; i++) hits[i] = (hits[i] as number) + 1;
              inChunk += piece.length;
              pieces++;
            }
            expect(inChunk, where).toBe(chunk.start + chunk.length);
            next += chunk.length;
          }
          expect(next, where).toBe(length);
          expect(layout.pieceCount, where).toBe(pieces);
          expect(hits.every((h) => h === 1), where).toBe(true);
        }
      }
    }
  });

  it('gives the lower ranks the extra elements and leaves empty chunks when L < N', () => {
    const layout = planLayout(10, 4, 2);
    expect(layout.chunks.map((c) => [c.start, c.length, c.pieceCount])).toEqual([
      [0, 3, 2],
      [3, 3, 2],
      [6, 2, 1],
      [8, 2, 1],
    ]);
    const small = planLayout(2, 4, 8);
    expect(small.chunks.map((c) => c.length)).toEqual([1, 1, 0, 0]);
    expect(small.pieceCount).toBe(2);
    expect(chunkOfPiece(small, 1)).toBe(1);
  });

  it('rejects impossible parameters with a ConfigError naming them, and pieces outside the layout with an InternalError', () => {
    expect(() => planLayout(-1, 2, 4)).toThrow(ConfigError);
    expect(() => planLayout(10, 0, 4)).toThrow(/worldSize/);
    expect(() => planLayout(10, 2, 0)).toThrow(/pieceElements/);
    expect(() => planLayout(2 ** 33, 1, 1)).toThrow(/u32 piece index/);
    expect(() => pieceRange(planLayout(10, 2, 4), 4)).toThrow(InternalError);
  });
});

describe('planLayout with buckets (Note [buckets in the layout])', () => {
  it('exhaustively for L ≤ 24, N ≤ 4, P ≤ 5 and splits into ≤ 3 buckets: every element in exactly one piece; pieces never straddle buckets; each chunk balanced within every bucket and its pieces in bucket order', () => {
    for (let length = 1; length <= 24; length++) {
      for (const cut1 of [1, Math.floor(length / 2), length]) {
        for (const cut2 of [cut1, Math.min(length, cut1 + 3), length]) {
          const ranges = [
            { start: cut2, end: length },
            { start: cut1, end: cut2 },
            { start: 0, end: cut1 },
          ].filter((b) => b.end > b.start);
          for (let worldSize = 1; worldSize <= 4; worldSize++) {
            for (let p = 1; p <= 5; p++) {
              const layout = planLayout(length, worldSize, p, ranges);
              const where = `L=${length} buckets=${JSON.stringify(ranges)} N=${worldSize} P=${p}`;
              const hits = new Uint8Array(length);
              for (const piece of layout.pieces) {
                const bucket = ranges[piece.bucket]!;
                expect(piece.start >= bucket.start && piece.start + piece.length <= bucket.end, where).toBe(true);
                expect(piece.length, where).toBeLessThanOrEqual(p);
                for (let i = piece.start; i < piece.start + piece.length; i++) hits[i] = hits[i]! + 1;
              }
              expect(hits.every((h) => h === 1), where).toBe(true);
              ranges.forEach((bucket, b) => {
                const sizes = layout.chunks.map((c) => c.segments[b]!.length);
                expect(Math.max(...sizes) - Math.min(...sizes), where).toBeLessThanOrEqual(1);
                expect(sizes.reduce((a, x) => a + x, 0), where).toBe(bucket.end - bucket.start);
              });
              for (const chunk of layout.chunks) {
                const own = piecesOfChunk(layout, chunk.owner);
                for (let i = 1; i < own.length; i++) expect(own[i]!.bucket, where).toBeGreaterThanOrEqual(own[i - 1]!.bucket);
                ranges.forEach((_, b) => expect(chunk.piecesThrough[b], where).toBe(own.filter((x) => x.bucket <= b).length));
              }
            }
          }
        }
      }
    }
  });

  it('buckets must tile the vector: a gap or an overlap is a ConfigError naming buckets', () => {
    expect(() => planLayout(10, 2, 4, [{ start: 5, end: 10 }, { start: 0, end: 4 }])).toThrow(/buckets/);
    expect(() => planLayout(10, 2, 4, [{ start: 4, end: 10 }, { start: 0, end: 5 }])).toThrow(ConfigError);
    expect(() => planLayout(10, 2, 4, [{ start: 0, end: 9 }])).toThrow(/cover \[0, 9\) of a vector of 10/);
  });
});
