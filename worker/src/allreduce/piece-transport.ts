import type { ClusterError } from '@gradmesh/shared/internal';

/**
 * Note [two paths for the same pieces]
 * The all-reduce (rsag.ts) decides what to send, when, and what an arriving piece means; a PieceTransport only
 * moves frames between the ranks of one generation. Three exist:
 *
 * - NATS (`nats-piece-transport.ts`): every frame goes rank → nats-server → rank on the run's `rs`/`ag` subjects;
 *   the sender's worker id is the last subject token, and the server's permissions vouch for it.
 * - Direct links (`direct-piece-transport.ts`): one TCP connection per ordered pair of ranks, authenticated by
 *   a per-generation secret (`@gradmesh/transport`, direct-links), the way Gloo and NCCL move data while a store
 *   only does rendezvous. The link itself vouches for the sender's rank.
 *
 * - Shared memory over the direct links (`shared-memory-piece-transport.ts`, the default with direct links): between
 *   ranks of one host a frame is copied once into the sender's segment and the link carries a 12-byte notice
 *   (Note [pieces through shared memory]); to ranks on other hosts it is the direct links unchanged.
 *
 * The server costs on this machine 1.6 CPU s per GB relayed, against 0.15–0.24 in each client, and on a real
 * cluster its NIC carries every byte of every rank; direct links cost neither. Either way the frames, their
 * checks and the rank-order sums are the same code, so every path gives bitwise the same vectors.
 */
export interface PieceTransport {
  /** Largest frame (piece header + values) it carries. */
  readonly maxFrameBytes: number;
  /** Bytes the receiving side tolerates in flight toward one rank (the flow window is sized from it, flow.ts). */
  readonly maxPendingBytes: number | undefined;
  /** `sendToOwner` with several parts sends them without copying them (the caller keeps them unchanged until written). */
  readonly sendsViews: boolean;
  /**
   * Set when the transport can carry no more frames in this generation (a broken direct link): every later step
   * fails at once with it instead of timing out. A NATS connection reconnects, so it never sets this.
   */
  readonly failure?: ClusterError | undefined;
  /** Starts delivering frames and failures to `sink`. Called once. */
  open(sink: PieceSink): void;
  /** A reduce-scatter frame (the concatenation of `parts`) to the rank that owns its chunk. */
  sendToOwner(owner: number, parts: readonly Uint8Array[]): void;
  /** An all-gather frame (a reduced piece of this rank's chunk) to every other rank. */
  sendToAll(frame: Uint8Array): void;
  /**
   * The same frame as `parts` (its header, then a view of the caller's vector), sent to every other rank without
   * copying them; `written` runs once every copy is handed to the kernel, or could not be (the transport failed).
   * Optional: the all-reduce then sums its own chunk in place and sends it as it is (Note [the own chunk is summed
   * in place] in rsag.ts); without it, reduced pieces go out in frames of their own through `sendToAll`.
   */
  sendToAllParts?(parts: readonly Uint8Array[], written: () => void): void;
  /** Calls `done` once every send of `frame` registered after this call has been written (the frame may then be reused). */
  whenWritten(frame: Uint8Array, done: () => void): void;
  /** A received frame is a buffer of its own that the receiver may keep past the delivery call. */
  isOwnedFrame(frame: Uint8Array): boolean;
  /** Hands a received frame back for reuse (nothing may view it any more). */
  releaseFrame(frame: Uint8Array): void;
  close(): void;
}

export interface PieceSink {
  /**
   * A frame arrived. `family` and `owner` are what the channel says (a NATS subject names both); undefined when
   * one channel carries both families (a direct link: the header says). `senderRank` is the rank the transport
   * vouches sent it (undefined: no member of this generation); `label` names the channel in drop notices.
   */
  onFrame(data: Uint8Array, family: 'rs' | 'ag' | undefined, owner: number | undefined, senderRank: number | undefined, label: string): void;
  /** Frames in flight may be gone (`error` says why); the running step must fail with it. */
  onLost(error: ClusterError): void;
}
