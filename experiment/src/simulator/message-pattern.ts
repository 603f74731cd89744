import type { AllreduceTransport, Topology } from '../scaling-results.js';

/**
 * The bytes and messages of ONE gradmesh all-reduce (worker/src/allreduce/rsag.ts), per process and per host
 * link, as a pure function of (world size N, gradient bytes S, topology).
 *
 * Note [the rsag message pattern]
 * The vector is cut into N chunks of ⌊L/N⌋ or ⌈L/N⌉ float32 elements (ownership.ts); chunk c is cut into pieces
 * of P bytes (+ a 16-byte header). Rank r publishes every piece of every chunk c ≠ r on `rs.<c>` (only owner c
 * subscribes), and owner c publishes each reduced piece of its chunk once on `ag.<c>` (the N−1 other ranks
 * subscribe). So each rank publishes S bytes (S(N−1)/N reduce-scatter + S/N all-gather) and receives
 * 2·S(N−1)/N (its chunk's N−1 copies + the N−1 other reduced chunks).
 *
 * - hub: every client is connected to one nats-server on a host of its own. It receives N·S bytes and sends
 *   2(N−1)·S (each rs piece once to its owner, each ag piece to N−1 ranks): the hub host's link carries
 *   2(N−1)·S out, so bus bandwidth is bounded by ≈ link / N.
 * - per-host: each worker's host runs a nats-server its worker connects to; the servers are a full mesh of
 *   routes and a route forwards a message once per remote server with interest. Host h's link carries the rs
 *   pieces of the N−1 other chunks out and the ag pieces of its own chunk out once per remote server:
 *   2·S(N−1)/N out, and the same in — the bandwidth-optimal bound of a ring. The worker↔server hop is loopback.
 *
 * - direct links (training.allreduce.transport "direct", the default): the same pieces go worker → worker over TCP,
 *   in either topology. A worker sends the N−1 other chunks' pieces once each (to their owners) and its reduced
 *   chunk N−1 times (once per peer): 2·S(N−1)/N out of its host and the same in; no server carries them. A frame
 *   has a 4-byte length instead of NATS's protocol line; a piece crosses one link each way (the sender's host
 *   link out, the bridge, the receiver's), two per round trip, and no server.
 *
 * Piece size and window follow rsag.ts's defaults: P = min(1 MiB, max_payload − 16, largestPieceFor(N)), the
 * window W = windowFor(N, P) (flow.ts), both mirrored below and checked against the worker's functions by
 * tests/unit/experiment/message-pattern.test.ts.
 */

/** Bytes of the piece header (shared/src/protocol/pieces.ts PIECE_HEADER_BYTES). */
export const PIECE_HEADER_BYTES = 16;
/** rsag.ts's default piece payload. */
export const DEFAULT_PIECE_BYTES = 1 << 20;
/** nats-server's default max_payload (1 MB) and max_pending (64 MiB). */
export const DEFAULT_MAX_PAYLOAD = 1 << 20;
export const DEFAULT_MAX_PENDING = 64 << 20;
/** flow.ts MAX_WINDOW. */
export const MAX_WINDOW = 8;
/**
 * NATS protocol text around one message: `PUB <subject> <size>\r\n…\r\n` from a client, `MSG <subject> <sid>
 * <size>\r\n…\r\n` to a client, `RMSG $G <subject> <size>\r\n…\r\n` on a route. With gradmesh's subjects
 * (`gm.<run>.rs.<owner>.<sender id>`) that is about 60–90 bytes; 72 is used.
 */
export const NATS_PROTOCOL_BYTES = 72;
/** A direct link's frame prefix (transport/src/direct-links/frame-reader.ts: a 4-byte length). */
export const LINK_FRAME_PREFIX_BYTES = 4;
/**
 * Bytes a shaped link carries per byte of TCP payload: a 1448-byte MSS (1500 MTU, TCP timestamps) travels as a
 * 1514-byte Ethernet frame, which is what tc's tbf counts. (It is why `tbf rate 1gbit` measured 0.955 Gbit/s of payload.)
 */
export const WIRE_BYTES_PER_PAYLOAD_BYTE = 1514 / 1448;

/** flow.ts largestPieceFor. */
export function largestPieceFor(worldSize: number, maxPendingBytes = DEFAULT_MAX_PENDING): number {
  const bytes = Math.floor(maxPendingBytes / 2 / (2 * Math.max(1, worldSize - 1))) - PIECE_HEADER_BYTES;
  return Math.floor(bytes / 4) * 4;
}

/** flow.ts windowFor. */
export function windowFor(worldSize: number, pieceBytes: number, maxPendingBytes = DEFAULT_MAX_PENDING): number {
  if (worldSize < 2) return MAX_WINDOW;
  return Math.min(MAX_WINDOW, Math.floor(maxPendingBytes / 2 / (2 * (worldSize - 1) * (pieceBytes + PIECE_HEADER_BYTES))));
}

/** rsag.ts's default piece payload for N ranks on a default server. */
export function defaultPieceBytes(worldSize: number): number {
  const payloadLimit = Math.floor((DEFAULT_MAX_PAYLOAD - PIECE_HEADER_BYTES) / 4) * 4;
  return Math.max(4, Math.min(DEFAULT_PIECE_BYTES, payloadLimit, largestPieceFor(worldSize)));
}

/** Messages and bytes (payload + piece header + NATS protocol text). */
export interface Traffic {
  readonly messages: number;
  readonly bytes: number;
}

/** One host's link, in each direction (TCP payload bytes; multiply by WIRE_BYTES_PER_PAYLOAD_BYTE for the wire). */
export interface HostLink {
  readonly host: string;
  readonly tx: number;
  readonly rx: number;
}

export interface MessagePattern {
  readonly worldSize: number;
  readonly topology: Topology;
  readonly pieceBytes: number;
  /** Bytes of the largest message actually sent (a whole chunk when it is shorter than a piece), header and protocol included. */
  readonly largestMessageBytes: number;
  readonly window: number;
  /** Pieces in the largest chunk: the longest sequence any one (sender, owner) pair sends. */
  readonly piecesPerChunk: number;
  /** What one worker publishes and what it receives (the busiest worker: it owns a largest chunk). */
  readonly workerPublishes: Traffic;
  readonly workerReceives: Traffic;
  /** What each nats-server receives and sends (one entry for the hub; N equal entries per-host, the busiest). */
  readonly serverReceives: Traffic;
  readonly serverSends: Traffic;
  readonly servers: number;
  /** Host links: `hub` + `worker-<r>` for the hub topology, `host-<r>` per-host. Only distinct shapes are listed for N > 8. */
  readonly links: readonly HostLink[];
  /** The link direction that carries the most bytes. */
  readonly busiestLinkBytes: number;
  /** Store-and-forward link hops of one piece's round trip (rs then ag), and the nats-server traversals on it. */
  readonly linkHops: number;
  readonly serverHops: number;
}

/** Elements per chunk (ownership.ts): ⌈L/N⌉ for the first L mod N chunks, ⌊L/N⌋ for the others. */
function chunkPieces(lengthElements: number, worldSize: number, pieceElements: number): { largest: number; total: number; largestElements: number } {
  const base = Math.floor(lengthElements / worldSize);
  const extra = lengthElements % worldSize;
  const big = Math.ceil((base + 1) / pieceElements);
  const small = Math.ceil(base / pieceElements);
  return { largest: extra > 0 ? big : small, total: extra * big + (worldSize - extra) * small, largestElements: base + (extra > 0 ? 1 : 0) };
}

export function messagePattern(worldSize: number, gradientBytes: number, topology: Topology, transport: AllreduceTransport = 'nats'): MessagePattern {
  const n = worldSize;
  const pieceBytes = defaultPieceBytes(n);
  const window = windowFor(n, pieceBytes);
  if (n === 1) {
    const none = { messages: 0, bytes: 0 };
    return { worldSize: 1, topology, pieceBytes, largestMessageBytes: 0, window, piecesPerChunk: 0, workerPublishes: none, workerReceives: none, serverReceives: none, serverSends: none, servers: 1, links: [], busiestLinkBytes: 0, linkHops: 0, serverHops: 0 };
  }
  const lengthElements = Math.ceil(gradientBytes / 4);
  const { largest, total, largestElements } = chunkPieces(lengthElements, n, pieceBytes / 4);
  const overhead = PIECE_HEADER_BYTES + (transport === 'direct' ? LINK_FRAME_PREFIX_BYTES : NATS_PROTOCOL_BYTES);
  // Bytes of all pieces of one chunk of the largest size, and of all chunks (= the whole vector).
  const chunkBytes = largestElements * 4 + largest * overhead;
  const vectorBytes = lengthElements * 4 + total * overhead;
  const otherChunksBytes = vectorBytes - chunkBytes;
  const otherChunksPieces = total - largest;
  const largestMessageBytes = Math.min(pieceBytes, largestElements * 4) + overhead;
  // A worker owning a largest chunk: publishes every other chunk (rs) and its own reduced chunk once (ag);
  // receives N−1 copies of its chunk and every other reduced chunk.
  const workerPublishes = { messages: otherChunksPieces + largest, bytes: otherChunksBytes + chunkBytes };
  const workerReceives = { messages: (n - 1) * largest + otherChunksPieces, bytes: (n - 1) * chunkBytes + otherChunksBytes };
  if (transport === 'direct') {
    // The worker writes each reduced piece once per peer (no server fans it out).
    const sends = { messages: otherChunksPieces + (n - 1) * largest, bytes: otherChunksBytes + (n - 1) * chunkBytes };
    const none = { messages: 0, bytes: 0 };
    const links: HostLink[] = [];
    for (let r = 0; r < Math.min(n, 8); r++) links.push({ host: topology === 'hub' ? `worker-${r}` : `host-${r}`, tx: sends.bytes, rx: workerReceives.bytes });
    return { worldSize: n, topology, pieceBytes, largestMessageBytes, window, piecesPerChunk: largest, workerPublishes: sends, workerReceives, serverReceives: none, serverSends: none, servers: 0, links, busiestLinkBytes: Math.max(sends.bytes, workerReceives.bytes), linkHops: 2, serverHops: 0 };
  }
  if (topology === 'hub') {
    // Every published piece reaches the hub once; rs pieces leave it once, ag pieces N−1 times.
    const serverReceives = { messages: n * total, bytes: n * vectorBytes };
    const serverSends = { messages: 2 * (n - 1) * total, bytes: 2 * (n - 1) * vectorBytes };
    const links: HostLink[] = [{ host: 'hub', tx: serverSends.bytes, rx: serverReceives.bytes }];
    for (let r = 0; r < Math.min(n, 8); r++) links.push({ host: `worker-${r}`, tx: workerPublishes.bytes, rx: workerReceives.bytes });
    return { worldSize: n, topology, pieceBytes, largestMessageBytes, window, piecesPerChunk: largest, workerPublishes, workerReceives, serverReceives, serverSends, servers: 1, links, busiestLinkBytes: serverSends.bytes, linkHops: 4, serverHops: 2 };
  }
  // per-host: host h's server takes its worker's S from loopback, forwards rs pieces to the N−1 owners' servers and
  // its worker's ag pieces to the N−1 other servers; it receives the N−1 copies of its chunk and the N−1 other
  // reduced chunks over routes and hands all of them to its worker.
  const routeOut = { messages: otherChunksPieces + (n - 1) * largest, bytes: otherChunksBytes + (n - 1) * chunkBytes };
  const routeIn = { messages: (n - 1) * largest + otherChunksPieces, bytes: (n - 1) * chunkBytes + otherChunksBytes };
  const serverReceives = { messages: workerPublishes.messages + routeIn.messages, bytes: workerPublishes.bytes + routeIn.bytes };
  const serverSends = { messages: routeOut.messages + workerReceives.messages, bytes: routeOut.bytes + workerReceives.bytes };
  const links: HostLink[] = [];
  for (let r = 0; r < Math.min(n, 8); r++) links.push({ host: `host-${r}`, tx: routeOut.bytes, rx: routeIn.bytes });
  return { worldSize: n, topology, pieceBytes, largestMessageBytes, window, piecesPerChunk: largest, workerPublishes, workerReceives, serverReceives, serverSends, servers: n, links, busiestLinkBytes: Math.max(routeOut.bytes, routeIn.bytes), linkHops: 2, serverHops: 4 };
}
