import { ConfigError, InternalError } from '@gradmesh/shared/internal';

/**
 * Chunk ownership and piece layout of the all-reduce: a pure function of (length L, world size N, piece
 * size P in elements), identical on every rank, so ranks agree on who owns what without talking.
 *
 * Note [balanced chunks, fixed-size pieces]
 * Chunk c (owned by rank c) is the contiguous range of ⌊L/N⌋ or ⌈L/N⌉ elements starting at
 * c·⌊L/N⌋ + min(c, L mod N): sizes differ by at most one ELEMENT, so every owner does the same share of
 * the summing and receives the same share of the traffic (aligning chunks to whole pieces instead would give
 * one rank up to a piece more work per step, which is a lot when the vector is only a few pieces long).
 * Each chunk is split into pieces of exactly P elements, the last one shorter; pieces are numbered globally
 * in chunk order, so the u32 piece index in a frame header identifies both the chunk and the range.
 * When L < N some chunks are empty (0 pieces); their owners only receive.
 */
export interface ChunkLayout {
  /** The owning rank (= the chunk index). */
  readonly owner: number;
  /** First element of the chunk's first segment (with one bucket: of the chunk). */
  readonly start: number;
  /** Elements over all the chunk's segments. */
  readonly length: number;
  /** Global index of the chunk's first piece. */
  readonly firstPiece: number;
  readonly pieceCount: number;
  /** The chunk's part of each bucket, in bucket order (one segment without buckets). */
  readonly segments: readonly Segment[];
  /** piecesThrough[b] = pieces of this chunk in buckets 0..b: what may be sent once bucket b is released. */
  readonly piecesThrough: readonly number[];
}

/** One owner's contiguous part of one bucket. */
export interface Segment {
  readonly bucket: number;
  readonly start: number;
  readonly length: number;
}

export interface PieceRange {
  /** Global piece index. */
  readonly piece: number;
  readonly chunk: number;
  /** The bucket the piece belongs to (0 without buckets). */
  readonly bucket: number;
  /** First element of the piece in the whole vector. */
  readonly start: number;
  readonly length: number;
  /** First element of the piece among its chunk's elements (segments concatenated): where staging keeps it. */
  readonly local: number;
}

/** A contiguous range [start, end) of the vector that is all-reduced as a unit (gradient-buckets.ts). */
export interface BucketRange {
  readonly start: number;
  readonly end: number;
}

export interface AllReduceLayout {
  readonly length: number;
  readonly worldSize: number;
  readonly pieceElements: number;
  /** Total pieces over all chunks. */
  readonly pieceCount: number;
  readonly chunks: readonly ChunkLayout[];
  /** The buckets, in release order (one bucket [0, length) without buckets). */
  readonly buckets: readonly BucketRange[];
  /** Per global piece: its range (O(1) lookup on every frame). */
  readonly pieces: readonly PieceRange[];
}

/** The piece header stores the global piece index as a u32. */
const MAX_PIECES = 0xffffffff;

/**
 * Note [buckets in the layout]
 * With buckets, every bucket is split among the N owners the way a whole vector is (balanced to one element), and
 * chunk c is the concatenation of c's segments of every bucket, in bucket (= release) order; pieces are numbered
 * owner-major, so chunk c's pieces are still one run of indices [firstPiece, firstPiece + pieceCount) whose
 * k-th piece lies in bucket order — a sender's window toward owner c sends them in index order, and may send the
 * pieces of bucket b once b is released (piecesThrough). A piece never straddles two buckets. Each element is
 * still summed once, over ranks 0..N−1 in order, so the result does not depend on the buckets (bitwise).
 */
export function planLayout(length: number, worldSize: number, pieceElements: number, buckets?: readonly BucketRange[]): AllReduceLayout {
  if (!Number.isSafeInteger(length) || length < 0) throw new ConfigError('length', 'must be an integer ≥ 0', { value: length });
  if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > 0x10000) throw new ConfigError('worldSize', 'must be an integer in [1, 65536]', { value: worldSize });
  if (!Number.isSafeInteger(pieceElements) || pieceElements < 1) throw new ConfigError('pieceElements', 'must be an integer ≥ 1', { value: pieceElements });
  const ranges = buckets ?? [{ start: 0, end: length }];
  checkBuckets(ranges, length);
  // segments[c][b]: owner c's part of bucket b.
  const segments: Segment[][] = Array.from({ length: worldSize }, () => []);
  ranges.forEach((bucket, b) => {
    const size = bucket.end - bucket.start;
    const base = Math.floor(size / worldSize);
    const extra = size % worldSize;
    for (let c = 0; c < worldSize; c++) segments[c]!.push({ bucket: b, start: bucket.start + c * base + Math.min(c, extra), length: base + (c < extra ? 1 : 0) });
  });
  let total = 0;
  for (const owned of segments) for (const segment of owned) total += Math.ceil(segment.length / pieceElements);
  if (total > MAX_PIECES) throw tooManyPieces(total, pieceElements);
  const chunks: ChunkLayout[] = [];
  const pieces: PieceRange[] = [];
  for (let c = 0; c < worldSize; c++) {
    const firstPiece = pieces.length;
    const piecesThrough: number[] = [];
    let local = 0;
    for (const segment of segments[c]!) {
      for (let offset = 0; offset < segment.length; offset += pieceElements) {
        const n = Math.min(pieceElements, segment.length - offset);
        pieces.push({ piece: pieces.length, chunk: c, bucket: segment.bucket, start: segment.start + offset, length: n, local });
        local += n;
      }
      piecesThrough.push(pieces.length - firstPiece);
    }
    chunks.push({ owner: c, start: segments[c]![0]?.start ?? 0, length: local, firstPiece, pieceCount: pieces.length - firstPiece, segments: segments[c]!, piecesThrough });
  }
  return { length, worldSize, pieceElements, pieceCount: pieces.length, chunks, buckets: ranges, pieces };
}

function tooManyPieces(total: number, pieceElements: number): ConfigError {
  return new ConfigError('pieceElements', `gives ${total} pieces, more than a u32 piece index holds`, { value: pieceElements, hint: 'use larger pieces' });
}

/** Buckets must tile [0, length) exactly (in any order), each non-empty unless the vector is. */
function checkBuckets(buckets: readonly BucketRange[], length: number): void {
  const sorted = [...buckets].sort((a, b) => a.start - b.start);
  let at = 0;
  for (const b of sorted) {
    if (!Number.isSafeInteger(b.start) || !Number.isSafeInteger(b.end) || b.start !== at || b.end < b.start || (b.end === b.start && length > 0)) {
      throw new ConfigError('buckets', `must tile [0, ${length}) with non-empty ranges; found [${b.start}, ${b.end}) where ${at} was expected`, { value: `${b.start}..${b.end}` });
    }
    at = b.end;
  }
  if (at !== length) throw new ConfigError('buckets', `cover [0, ${at}) of a vector of ${length}`, { value: at });
}

/** The chunk holding global piece `piece`. */
export function chunkOfPiece(layout: AllReduceLayout, piece: number): number {
  return pieceRange(layout, piece).chunk;
}

/** The element range of global piece `piece`. */
export function pieceRange(layout: AllReduceLayout, piece: number): PieceRange {
  const range = Number.isInteger(piece) ? layout.pieces[piece] : undefined;
  if (range === undefined) throw new InternalError(`piece ${piece} outside [0, ${layout.pieceCount})`);
  return range;
}

/** The pieces of one chunk, in order. */
export function piecesOfChunk(layout: AllReduceLayout, chunk: number): PieceRange[] {
  const c = layout.chunks[chunk];
  if (c === undefined) throw new InternalError(`chunk ${chunk} outside [0, ${layout.worldSize})`);
  return layout.pieces.slice(c.firstPiece, c.firstPiece + c.pieceCount);
}
