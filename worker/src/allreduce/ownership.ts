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
  /** First element of the chunk. */
  readonly start: number;
  readonly length: number;
  /** Global index of the chunk's first piece. */
  readonly firstPiece: number;
  readonly pieceCount: number;
}

export interface PieceRange {
  /** Global piece index. */
  readonly piece: number;
  readonly chunk: number;
  /** First element of the piece in the whole vector. */
  readonly start: number;
  readonly length: number;
}

export interface AllReduceLayout {
  readonly length: number;
  readonly worldSize: number;
  readonly pieceElements: number;
  /** Total pieces over all chunks. */
  readonly pieceCount: number;
  readonly chunks: readonly ChunkLayout[];
}

/** The piece header stores the global piece index as a u32. */
const MAX_PIECES = 0xffffffff;

export function planLayout(length: number, worldSize: number, pieceElements: number): AllReduceLayout {
  if (!Number.isSafeInteger(length) || length < 0) throw new ConfigError('length', 'must be an integer ≥ 0', { value: length });
  if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > 0x10000) throw new ConfigError('worldSize', 'must be an integer in [1, 65536]', { value: worldSize });
  if (!Number.isSafeInteger(pieceElements) || pieceElements < 1) throw new ConfigError('pieceElements', 'must be an integer ≥ 1', { value: pieceElements });
  const base = Math.floor(length / worldSize);
  const extra = length % worldSize;
  const chunks: ChunkLayout[] = [];
  let firstPiece = 0;
  for (let c = 0; c < worldSize; c++) {
    const chunkLength = base + (c < extra ? 1 : 0);
    const pieceCount = Math.ceil(chunkLength / pieceElements);
    chunks.push({ owner: c, start: c * base + Math.min(c, extra), length: chunkLength, firstPiece, pieceCount });
    firstPiece += pieceCount;
  }
  if (firstPiece > MAX_PIECES) {
    throw new ConfigError('pieceElements', `gives ${firstPiece} pieces for ${length} elements, more than a u32 piece index holds`, {
      value: pieceElements,
      hint: 'use larger pieces',
    });
  }
  return { length, worldSize, pieceElements, pieceCount: firstPiece, chunks };
}

/** The chunk holding global piece `piece` (binary search over the chunks' first pieces; empty chunks skipped). */
export function chunkOfPiece(layout: AllReduceLayout, piece: number): number {
  if (!Number.isInteger(piece) || piece < 0 || piece >= layout.pieceCount) throw new InternalError(`piece ${piece} outside [0, ${layout.pieceCount})`);
  let lo = 0;
  let hi = layout.chunks.length - 1;
  // Invariant: the chunk holding `piece` is in [lo, hi].
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((layout.chunks[mid] as ChunkLayout).firstPiece <= piece) lo = mid;
    else hi = mid - 1;
  }
  // Empty chunks share their firstPiece with the next non-empty one; step back to the one that holds it.
  while ((layout.chunks[lo] as ChunkLayout).pieceCount === 0 || piece >= (layout.chunks[lo] as ChunkLayout).firstPiece + (layout.chunks[lo] as ChunkLayout).pieceCount) lo--;
  return lo;
}

/** The element range of global piece `piece`. */
export function pieceRange(layout: AllReduceLayout, piece: number): PieceRange {
  const chunk = chunkOfPiece(layout, piece);
  const c = layout.chunks[chunk] as ChunkLayout;
  const offset = (piece - c.firstPiece) * layout.pieceElements;
  return { piece, chunk, start: c.start + offset, length: Math.min(layout.pieceElements, c.length - offset) };
}

/** The pieces of one chunk, in order. */
export function piecesOfChunk(layout: AllReduceLayout, chunk: number): PieceRange[] {
  const c = layout.chunks[chunk];
  if (c === undefined) throw new InternalError(`chunk ${chunk} outside [0, ${layout.worldSize})`);
  const out: PieceRange[] = [];
  for (let i = 0; i < c.pieceCount; i++) {
    const offset = i * layout.pieceElements;
    out.push({ piece: c.firstPiece + i, chunk, start: c.start + offset, length: Math.min(layout.pieceElements, c.length - offset) });
  }
  return out;
}
