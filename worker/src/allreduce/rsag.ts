import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterError, ConfigError } from '@gradmesh/shared/internal';
import { DropCounter, MessageRejectedError, type DropReason } from '@gradmesh/shared/internal';
import { alignedPieceValues, copyPieceValues, PIECE_HEADER_BYTES, pieceElements, pieceHeaderBytes, readPieceHeader, writePieceFrame, writePieceHeader, type PieceHeader } from '@gradmesh/shared/internal';
import { decodeValues, encodedBytes, encodeValues, roundTrip, type Compression } from '@gradmesh/shared/internal';
import { validateRunId, validateWorkerId, bulkFloats } from '@gradmesh/shared/internal';
import type { AllReduce, AllReduceStep, AllReduceTimings } from './allreduce.js';
import { ConnectionInterrupted } from './connection-interrupted.js';
import { EarlyFrames } from './early-frames.js';
import { largestPieceFor, requireWindow, SendWindow } from './flow.js';
import { FrameRecycler } from './frame-recycler.js';
import { NatsPieceTransport } from './nats-piece-transport.js';
import { planLayout, pieceRange, type AllReduceLayout, type BucketRange, type ChunkLayout, type PieceRange } from './ownership.js';
import type { PieceSink, PieceTransport } from './piece-transport.js';
import { sumInRankOrder } from './rank-order-sum.js';

export { ConnectionInterrupted } from './connection-interrupted.js';

export interface RsagOptions {
  /** Pieces travel through this server connection (NatsPieceTransport) unless `transport` is given. */
  readonly nc?: NatsConnection;
  /** How pieces travel between the ranks (Note [two paths for the same pieces] in piece-transport.ts); closed by close(). */
  readonly transport?: PieceTransport;
  readonly runId: string;
  readonly rank: number;
  readonly worldSize: number;
  /** Membership generation; frames of another generation are dropped and counted. */
  readonly generation: number;
  /**
   * The worker id of each rank (members[rank]); pieces travel on subjects ending in their sender's id and a
   * piece's source rank must match it (Note [the sender is in the subject]). Default: the ranks as ids ("0", "1", …).
   */
  readonly members?: readonly string[];
  /**
   * How pieces travel: float32 ('none', default) or half width ('bf16', 'fp16'; Note [compressed all-reduce stays
   * bitwise identical across replicas] in shared/src/protocol/compression.ts). Every rank of a run must agree.
   */
  readonly compression?: Compression;
  /** Payload bytes per piece (multiple of 4). Default: 1 MiB, capped by the transport's largest frame (the server's max_payload) − 16. */
  readonly pieceBytes?: number;
  /** A step that cannot complete rejects after this long (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** Receives the one-line-per-(kind, reason) drop notices. Default: console.warn. */
  readonly logger?: (line: string) => void;
  /** The server's max_pending (nats-server default 64 MiB); in-flight bytes stay below half of it. */
  readonly maxPendingBytes?: number;
  /**
   * Cap on frames buffered for a step not started yet. Default: what this rank receives in
   * EARLY_STEP_WINDOW steps when `vectorLength` is given (Note [early frames are bounded by the run]), else 256 MiB.
   */
  readonly maxEarlyBytes?: number;
  /** Elements every step all-reduces, when known up front: early frames are then checked against the layout as they arrive. */
  readonly vectorLength?: number;
  /** The first step this instance will all-reduce, when known: early frames of steps past the window are dropped at once. */
  readonly firstStep?: number;
  /** Share a drop counter (e.g. with the control-message receiver) instead of creating one. */
  readonly drops?: DropCounter;
  /**
   * Gradient buckets (gradient-buckets.ts) of the `vectorLength`-element vector, in release order: `begin` steps
   * all-reduce each bucket once it is released (Note [buckets in the layout] in ownership.ts). Every rank of a run
   * must agree. Default: one bucket, the whole vector.
   */
  readonly buckets?: readonly BucketRange[];
  /**
   * Send the reduced pieces of later buckets first (Note [the first layers' sums first]). For a caller that uses each
   * bucket as soon as it is reduced (AllReduceStep.reduced), the last bucket released — the first layers — first.
   * Only the in-place path (direct links, float32 pieces) holds pieces back; elsewhere this changes nothing.
   */
  readonly allGatherForwardFirst?: boolean;
}

const DEFAULT_PIECE_BYTES = 1 << 20;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_PENDING = 64 << 20;
const DEFAULT_MAX_EARLY = 256 << 20;
const EMPTY = new Float32Array(0);

/**
 * Note [early frames are bounded by the run]
 * A peer can be at most one step ahead of this rank (finishing step s+1 needs this rank's pieces of s+1), so a
 * frame is worth keeping only for the next step or two: `step ≤ last started + EARLY_STEP_WINDOW` (or, before
 * the first step, `< firstStep + EARLY_STEP_WINDOW`). Anything further ahead — a step 2³²−1 — is dropped as
 * 'out-of-bounds' at once, costing a counter increment. When the vector length is known, an early frame is
 * also checked against the layout on arrival (piece index, value count, chunk ownership), and the early byte
 * budget is what this rank legitimately receives in EARLY_STEP_WINDOW steps, not a fixed 256 MiB: a peer
 * that floods early frames is cut off at the size of the model.
 */
export const EARLY_STEP_WINDOW = 2;

/** Preallocated per vector length and reused by every step of that length. */
interface Buffers {
  readonly layout: AllReduceLayout;
  readonly own: ChunkLayout;
  /** staging[k] receives rank k's copy of this rank's chunk (empty for k = rank) when its frame cannot be kept. */
  readonly staging: Float32Array[];
  /**
   * held[(piece − own.firstPiece)·N + k] = rank k's received frame of that piece, kept instead of copied into
   * staging when it is a recycled payload (aligned, a buffer of its own); released once the piece is reduced.
   */
  readonly held: (Uint8Array | undefined)[];
  /** arrived[(piece − own.firstPiece)·N + k] = 1 once rank k's copy of the piece is in. */
  readonly arrived: Uint8Array;
  /** copies[piece − own.firstPiece] = how many ranks' copies are in. */
  readonly copies: Uint16Array;
  /** gathered[piece] = 1 once the reduced piece is in `data` (pieces of other chunks). */
  readonly gathered: Uint8Array;
  /** The N terms of the piece being summed, in rank order (reused; emptied after each sum so no frame stays reachable). */
  readonly sources: Float32Array[];
  /** Compressed all-reduce only: this rank's own contribution to a piece, rounded as if sent, and the piece's sum. */
  readonly ownRounded: Float32Array;
  readonly sum: Float32Array;
  /** windows[c] = this rank's send window toward owner c, reset at the start of every step. */
  readonly windows: SendWindow[];
  /** bucketPieces[b] = pieces of bucket b over all chunks; ownBucketPieces[b] = of this rank's chunk. */
  readonly bucketPieces: Int32Array;
  readonly ownBucketPieces: Int32Array;
  /** Per step: bucketLeft[b] = pieces of bucket b not final here yet; ownLeft[b] = own reduced pieces of b not sent yet. */
  readonly bucketLeft: Int32Array;
  readonly ownLeft: Int32Array;
  /** Per step: own reduced pieces held back (Note [the first layers' sums first]), oldest first. */
  readonly heldBack: PieceRange[];
}

interface ActiveStep {
  readonly step: number;
  readonly data: Float32Array;
  readonly buffers: Buffers;
  readonly windows: readonly SendWindow[];
  /** Buckets released so far (a prefix, in order); only their pieces are sent and reduced. */
  released: number;
  /** When the first bucket was released (the all-reduce's clock and its deadline start there). */
  started: number;
  reduced: number;
  gatheredCount: number;
  ownChunkMs: number;
  bytesSent: number;
  bytesReceived: number;
  /** Reduced pieces sent as views of `data` and not yet written (Note [the own chunk is summed in place]). */
  pendingWrites: number;
  /** Callers waiting for a bucket (AllReduceStep.reduced), made on demand. */
  waiters: (Waiter | undefined)[] | undefined;
  /** Why the step failed, once it did. */
  failure: Error | undefined;
  readonly resolve: (t: AllReduceTimings) => void;
  readonly reject: (e: Error) => void;
}

/**
 * The reduce-scatter + all-gather all-reduce with chunk ownership (layout: `ownership.ts`).
 *
 * Rank i owns chunk i. Every rank sends piece p of chunk c to c's owner (`rs.<c>`), a window at a time
 * (`flow.ts`). The owner stages each copy in a preallocated array; as soon as all N−1 copies of a piece are
 * in, it sums v0 + v1 + … + v(N−1) in RANK order with its own values in place of its rank's copy, publishes
 * the reduced piece to everyone (`ag.<c>`) and copies it into its own vector. Everyone copies reduced pieces
 * in as they arrive, and each one frees a slot of the sender's window toward that owner, which sends the
 * next piece: reduce-scatter and all-gather overlap piece by piece.
 *
 * Copies are what costs CPU on a box where every rank and the server share the cores, so the data path avoids
 * them (figures in bench/README.md): reduce-scatter pieces are published straight from the caller's
 * vector (Note [sending straight from the vector]); received pieces arrive in recycled buffers of their own
 * (`@gradmesh/transport`, `received-payloads.ts`), so the owner keeps early copies as they are and sums all of them in
 * place; reduced pieces are summed into a recycled frame (`frame-recycler.ts`) that is published and copied into
 * the vector.
 *
 * Note [sending straight from the vector]
 * With direct writes (`@gradmesh/transport`, `direct-writes.ts`) the socket reads a published part until it has written
 * it, possibly after this call returns. A reduce-scatter piece views the caller's vector in chunk c ≠ rank,
 * which nothing writes until the owner's reduced piece of that range arrives — and the owner can only reduce
 * it after receiving these very bytes, so the socket has written them by then. The all-reduce resolves only
 * after every such range came back, so the caller never changes bytes still being sent. (A failed step may
 * leave bytes unsent while the caller moves on; they belong to a step that is over and are dropped.)
 *
 * Subscriptions are made once (N of them: this rank's `rs`, every other owner's `ag`). A frame is accepted
 * only for the running step; frames of a later step (a faster peer) are kept for it (`early-frames.ts`), and
 * frames of a finished step, another generation, a wrong size or a duplicate are dropped and counted.
 */
export class RsagAllReduce implements AllReduce {
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  /** Payload bytes per piece actually used. */
  readonly pieceBytes: number;
  /** Pieces in flight per destination (see `flow.ts`). */
  readonly window: number;
  readonly timeoutMs: number;
  readonly drops: DropCounter;

  readonly #transport: PieceTransport;
  readonly #early: EarlyFrames;
  /** Published frames, reused from the next macrotask on (Note [recycling published frames]). */
  readonly #frames: FrameRecycler;
  #buffers: Buffers | undefined;
  #active: ActiveStep | undefined;
  /** The last step started (running or finished); −1 before the first. */
  #lastStep = -1;
  readonly #firstStep: number | undefined;
  readonly #members: readonly string[];
  readonly #compression: Compression;
  readonly #expectedLength: number | undefined;
  readonly #buckets: readonly BucketRange[] | undefined;
  #closed = false;
  readonly #forwardFirst: boolean;
  /** The transport sends views (direct writes, or links): reduce-scatter pieces go out without any copy. */
  readonly #direct: boolean;
  /** Armed while steps run; it checks the running step's deadline when it fires (Note [one watchdog, not a timer per step]). */
  #watchdog: NodeJS.Timeout | undefined;
  readonly #onWatchdog = (): void => this.#checkDeadline();

  constructor(options: RsagOptions) {
    const runId = validateRunId(options.runId, 'runId');
    const { rank, worldSize, generation } = options;
    if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > 0x10000) throw new ConfigError('worldSize', 'must be an integer in [1, 65536]', { value: worldSize });
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new ConfigError('rank', `must be an integer in [0, ${worldSize - 1}]`, { value: rank });
    if (!Number.isInteger(generation) || generation < 0 || generation > 0xffffffff) throw new ConfigError('generation', 'must be an integer in [0, 2^32)', { value: generation });
    this.rank = rank;
    this.worldSize = worldSize;
    this.generation = generation;
    const members = options.members ?? Array.from({ length: worldSize }, (_, k) => String(k));
    if (members.length !== worldSize) throw new ConfigError('members', `must name one worker id per rank (${worldSize})`, { value: members.length });
    this.#members = members.map((m, k) => validateWorkerId(m, `members[${k}]`));
    if (options.transport === undefined && options.nc === undefined) throw new ConfigError('transport', 'an all-reduce needs a NATS connection or a transport', {});
    this.#transport = options.transport ?? new NatsPieceTransport({ nc: options.nc!, runId, rank, members: this.#members, ...(options.maxPendingBytes === undefined ? {} : { maxPendingBytes: options.maxPendingBytes }) });
    this.#direct = this.#transport.sendsViews;
    this.#forwardFirst = options.allGatherForwardFirst === true;
    const compression = options.compression ?? 'none';
    if (compression !== 'none' && compression !== 'bf16' && compression !== 'fp16') throw new ConfigError('compression', 'must be none, bf16 or fp16', { value: compression });
    this.#compression = compression;
    this.timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    const maxPending = positive(options.maxPendingBytes ?? this.#transport.maxPendingBytes, DEFAULT_MAX_PENDING, 'maxPendingBytes');
    this.drops = options.drops ?? new DropCounter(options.logger);
    if (options.firstStep !== undefined && (!Number.isInteger(options.firstStep) || options.firstStep < 0 || options.firstStep > 0xffffffff)) {
      throw new ConfigError('firstStep', 'must be an integer in [0, 2^32)', { value: options.firstStep });
    }
    this.#firstStep = options.firstStep;

    const maxPayload = this.#transport.maxFrameBytes;
    const payloadLimit = Math.floor((maxPayload - PIECE_HEADER_BYTES) / 4) * 4;
    if (options.pieceBytes !== undefined) {
      const p = options.pieceBytes;
      if (!Number.isInteger(p) || p < 4 || p % 4 !== 0) throw new ConfigError('pieceBytes', 'must be a positive multiple of 4', { value: p });
      if (p > payloadLimit) {
        throw new ConfigError('pieceBytes', `exceeds the server's max_payload of ${maxPayload} bytes minus the ${PIECE_HEADER_BYTES}-byte header`, { value: p, hint: `use at most ${payloadLimit}` });
      }
      this.pieceBytes = p;
    } else {
      this.pieceBytes = Math.max(4, Math.min(DEFAULT_PIECE_BYTES, payloadLimit, largestPieceFor(worldSize, maxPending)));
    }
    this.window = requireWindow(worldSize, this.pieceBytes, maxPending);
    if (options.buckets !== undefined && options.vectorLength === undefined) throw new ConfigError('buckets', 'need vectorLength (the length they tile)', { value: options.buckets.length });
    this.#buckets = options.buckets;
    let maxEarly = DEFAULT_MAX_EARLY;
    let perSource: number[] | undefined;
    if (options.vectorLength !== undefined) {
      const n = options.vectorLength;
      if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError('vectorLength', 'must be a non-negative integer', { value: n });
      this.#expectedLength = n;
      perSource = receivedBytesPerStep(this.#buffersFor(n), rank).map((bytes) => EARLY_STEP_WINDOW * bytes);
      maxEarly = perSource.reduce((a, b) => a + b, 0);
    }
    this.#early = new EarlyFrames(positive(options.maxEarlyBytes, Math.max(1, maxEarly), 'maxEarlyBytes'), this.drops, perSource);
    this.#frames = new FrameRecycler(maxPending, (frame, done) => this.#transport.whenWritten(frame, done));

    if (worldSize > 1) {
      const sink: PieceSink = {
        onFrame: (data, family, owner, senderRank, label) => this.#onFrame(label, family, owner, senderRank, data),
        onLost: (error) => this.#onLost(error),
      };
      this.#transport.open(sink);
    }
  }

  allReduce(step: number, data: Float32Array): Promise<AllReduceTimings> {
    const running = this.begin(step, data);
    for (let b = 0; b < running.bucketCount; b++) running.release(b);
    return running.done;
  }

  /**
   * Starts the all-reduce of `step` over `data` with no bucket released yet: frames of the step are accepted from
   * now on, and each bucket travels once `release(b)` (in order 0, 1, …) says its values are final. Until `done`
   * settles, the caller must not change a released bucket's values (reduced values arrive in place).
   */
  begin(step: number, data: Float32Array): AllReduceStep {
    const failed = (error: ClusterError): AllReduceStep => failedStep(error);
    if (this.#closed) return failed(new ClusterError(`all-reduce on rank ${this.rank} is closed`, { rank: this.rank, step }));
    if (this.#active !== undefined) {
      return failed(new ClusterError(`all-reduce of step ${step} started on rank ${this.rank} while step ${this.#active.step} is still running`, { rank: this.rank, step, hint: 'await each allReduce before starting the next' }));
    }
    if (!Number.isInteger(step) || step <= this.#lastStep || step > 0xffffffff) {
      return failed(new ClusterError(`all-reduce step ${step} on rank ${this.rank} must be an integer > the previous step ${this.#lastStep} and < 2^32`, { rank: this.rank, step }));
    }
    this.#lastStep = step;
    const broken = this.#transport.failure;
    if (broken !== undefined) return failed(new ConnectionInterrupted(`all-reduce of step ${step} on rank ${this.rank} cannot run: ${broken.message}`, { rank: this.rank, step, cause: broken }));
    const buffers = this.#buffersFor(data.length);
    const bucketCount = buffers.layout.buckets.length;
    if (this.worldSize === 1) {
      return { bucketCount, release: (b) => checkRelease(b, bucketCount), cancel: () => undefined, reduced: () => Promise.resolve(), done: Promise.resolve({ totalMs: 0, ownChunkMs: 0, bytesSent: 0, bytesReceived: 0 }) };
    }

    buffers.arrived.fill(0);
    buffers.copies.fill(0);
    buffers.gathered.fill(0);
    buffers.held.fill(undefined);
    for (const w of buffers.windows) w.reset();
    buffers.bucketLeft.set(buffers.bucketPieces);
    buffers.ownLeft.set(buffers.ownBucketPieces);
    buffers.heldBack.length = 0;
    let active!: ActiveStep;
    const done = new Promise<AllReduceTimings>((resolve, reject) => {
      active = {
        step,
        data,
        buffers,
        windows: buffers.windows,
        released: 0,
        started: performance.now(),
        reduced: 0,
        gatheredCount: 0,
        ownChunkMs: 0,
        bytesSent: 0,
        bytesReceived: 0,
        pendingWrites: 0,
        waiters: undefined,
        failure: undefined,
        resolve,
        reject,
      };
    });
    // A failure may come (a lost connection) while the caller still computes; it sees it when it awaits `done`.
    done.catch(() => undefined);
    this.#active = active;
    try {
      for (const early of this.#early.take(step)) if (!this.#accept(active, early.subject, early.header, early.frame)) this.#transport.releaseFrame(early.frame);
      this.#finishIfDone(active);
    } catch (error) {
      this.#fail(active, this.#internalError(active, error));
    }
    return {
      bucketCount,
      release: (bucket) => {
        checkRelease(bucket, bucketCount);
        if (bucket !== active.released) throw new ClusterError(`bucket ${bucket} released out of order on rank ${this.rank} (next is ${active.released})`, { rank: this.rank, step });
        if (this.#active !== active) return;
        try {
          this.#release(active, bucket);
        } catch (error) {
          this.#fail(active, this.#internalError(active, error));
        }
      },
      cancel: (reason) => {
        if (this.#active === active) this.#fail(active, new ClusterError(`all-reduce of step ${step} on rank ${this.rank} was cancelled: ${reason}`, { rank: this.rank, step }));
      },
      reduced: (bucket) => {
        checkRelease(bucket, bucketCount);
        if (active.failure !== undefined) return Promise.reject(active.failure);
        if (this.#active !== active || active.buffers.bucketLeft[bucket] === 0) return Promise.resolve();
        active.waiters ??= new Array<Waiter | undefined>(bucketCount).fill(undefined);
        return (active.waiters[bucket] ??= waiter()).promise;
      },
      done,
    };
  }

  /**
   * Bucket `bucket` is final on this rank: its pieces may go out, and the pieces of this rank's chunk in it whose
   * copies are all in already are reduced now.
   */
  #release(active: ActiveStep, bucket: number): void {
    if (bucket === 0) {
      active.started = performance.now();
      this.#watchdog ??= setTimeout(this.#onWatchdog, this.timeoutMs).unref();
    }
    active.released = bucket + 1;
    // Forward first, the bucket's reduce-scatter pieces go out before its own reduced pieces — which release the
    // held-back ones of earlier buckets behind them (Note [the first layers' sums first]): the other owners need
    // these pieces to finish the bucket, and must not find them queued behind those bytes.
    if (this.#forwardFirst) this.#fillWindows(active);
    const { layout, own, copies } = active.buffers;
    const from = bucket === 0 ? 0 : (own.piecesThrough[bucket - 1] as number);
    const to = own.piecesThrough[bucket] as number;
    for (let local = from; local < to; local++) {
      if (copies[local] === this.worldSize - 1) this.#reduce(active, layout.pieces[own.firstPiece + local] as PieceRange, -1, undefined);
    }
    if (!this.#forwardFirst) this.#fillWindows(active);
    this.#finishIfDone(active);
  }

  /** Fills every window, one piece per owner per round, starting after our own rank so that the ranks do not all hit owner 0 first. */
  #fillWindows(active: ActiveStep): void {
    for (let round = 0; round < this.window; round++) {
      for (let i = 1; i < this.worldSize; i++) this.#send(active, (this.rank + i) % this.worldSize, 1);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#watchdog);
    this.#transport.close();
    this.#early.clear();
    const active = this.#active;
    if (active !== undefined) this.#fail(active, new ClusterError(`all-reduce of step ${active.step} on rank ${this.rank} was closed before it completed`, { rank: this.rank, step: active.step }));
  }

  // ---- receiving ------------------------------------------------------------------------------------------

  /** A frame arrived: route it, and hand its buffer back to the receive-buffer recycler unless something kept it. */
  #onFrame(subject: string, family: 'rs' | 'ag' | undefined, owner: number | undefined, senderRank: number | undefined, data: Uint8Array): void {
    if (!this.#route(subject, family, owner, senderRank, data)) this.#transport.releaseFrame(data);
  }

  /** The transport lost frames in flight: the running step fails at once (instead of after the timeout), and no published frame is reused. */
  #onLost(error: ClusterError): void {
    if (this.#closed) return;
    this.#frames.invalidate();
    const active = this.#active;
    if (active === undefined) return;
    const message = `${error.message} during the all-reduce of step ${active.step}`;
    const context = { rank: this.rank, step: active.step, cause: error };
    this.#fail(active, error instanceof ConnectionInterrupted ? new ConnectionInterrupted(message, context) : new ClusterError(message, context));
  }

  /** Validates a frame and takes it for the running step or keeps it for a later one; returns whether it is kept. */
  #route(subject: string, channelFamily: 'rs' | 'ag' | undefined, channelOwner: number | undefined, senderRank: number | undefined, data: Uint8Array): boolean {
    let header: PieceHeader;
    try {
      header = readPieceHeader(subject, data);
    } catch (error) {
      if (error instanceof MessageRejectedError) this.drops.drop(channelFamily ?? 'piece', error.dropReason, error.message);
      return false;
    }
    const { source, step } = header;
    // A channel that carries both families (a direct link) leaves them to the header; the owner of an rs piece is this rank, of an ag piece its sender.
    const family = channelFamily ?? header.family;
    const owner = channelOwner ?? (family === 'rs' ? this.rank : source);
    if (header.family !== family) return this.#drop(family, 'malformed', subject, header, `a ${header.family} frame on a ${family} subject`);
    if (header.generation !== this.generation) return this.#drop(family, 'foreign-generation', subject, header, `generation ${header.generation}, this rank is in ${this.generation}`);
    if (source >= this.worldSize || source === this.rank || (family === 'ag' && source !== owner)) {
      return this.#drop(family, 'malformed', subject, header, `source rank ${source} cannot send ${family} frames here (world size ${this.worldSize})`);
    }
    if (senderRank !== source) {
      return this.#drop(family, 'wrong-sender', subject, header, `rank ${source} is worker "${this.#members[source]}" in generation ${this.generation}, but the frame came from ${senderRank === undefined ? 'no member of it' : `rank ${senderRank} ("${this.#members[senderRank]}")`}`);
    }
    const active = this.#active;
    if (active !== undefined && step === active.step) {
      try {
        return this.#accept(active, subject, header, data);
      } catch (error) {
        this.#fail(active, this.#internalError(active, error));
        return false;
      }
    }
    if (step > this.#lastStep) {
      const horizon = this.#lastStep >= 0 ? this.#lastStep + EARLY_STEP_WINDOW : this.#firstStep === undefined ? undefined : this.#firstStep + EARLY_STEP_WINDOW - 1;
      if (horizon !== undefined && step > horizon) return this.#drop(family, 'out-of-bounds', subject, header, `step ${step} is more than ${EARLY_STEP_WINDOW} steps ahead of this rank (last started: ${this.#lastStep < 0 ? 'none' : this.#lastStep})`);
      const cached = this.#buffers;
      if (this.#expectedLength !== undefined && cached !== undefined && cached.layout.length === this.#expectedLength && this.#checkShape(cached, subject, header, data) === undefined) return false;
      const owned = this.#transport.isOwnedFrame(data);
      this.#early.add(subject, header, data, owned);
      return owned;
    }
    return this.#drop(family, 'stale-step', subject, header, `step ${step} is over on rank ${this.rank} (now at ${this.#lastStep})`);
  }

  /**
   * Takes one frame of the running step. Returns true when the frame is kept (held for a later sum); else the
   * caller may release it, since no view of it survives this call.
   */
  #accept(active: ActiveStep, subject: string, header: PieceHeader, frame: Uint8Array): boolean {
    const { own } = active.buffers;
    const range = this.#checkShape(active.buffers, subject, header, frame);
    if (range === undefined) return false;
    let kept = false;
    if (header.family === 'rs') {
      const slot = (header.piece - own.firstPiece) * this.worldSize + header.source;
      if (active.buffers.arrived[slot] === 1) return this.#drop('rs', 'duplicate', subject, header, `piece ${header.piece} again`);
      active.buffers.arrived[slot] = 1;
      active.bytesReceived += frame.length;
      const local = header.piece - own.firstPiece;
      const copies = (active.buffers.copies[local] as number) + 1;
      active.buffers.copies[local] = copies;
      // This rank's own values of the piece are final only once its bucket is released (then #release reduces it).
      const complete = copies === this.worldSize - 1 && range.bucket < active.released;
      if (this.#compression !== 'none') {
        // Compressed: every copy is decoded into staging (there is nothing to sum in place).
        decodeValues(this.#compression, frame.subarray(PIECE_HEADER_BYTES), active.buffers.staging[header.source] as Float32Array, range.local, range.length);
        if (complete) this.#reduce(active, range, header.source, undefined);
      } else if (complete) {
        // The copy that completes the piece is summed straight from the frame when it is aligned (always for a
        // recycled payload).
        const inPlace = alignedPieceValues(frame);
        if (inPlace === undefined) copyPieceValues(frame, active.buffers.staging[header.source] as Float32Array, range.local, range.length);
        this.#reduce(active, range, header.source, inPlace);
      } else if (this.#transport.isOwnedFrame(frame)) {
        active.buffers.held[slot] = frame;
        kept = true;
      } else {
        copyPieceValues(frame, active.buffers.staging[header.source] as Float32Array, range.local, range.length);
      }
    } else {
      if (active.buffers.gathered[header.piece] === 1) return this.#drop('ag', 'duplicate', subject, header, `piece ${header.piece} again`);
      active.buffers.gathered[header.piece] = 1;
      if (this.#compression === 'none') {
        // Into the (shared) gradient vector with the native memmove when the values are aligned (Note [shared memory copies]).
        const values = alignedPieceValues(frame);
        if (values === undefined) copyPieceValues(frame, active.data, range.start, range.length);
        else bulkFloats().copy(active.data.subarray(range.start, range.start + range.length), values);
      }
      else decodeValues(this.#compression, frame.subarray(PIECE_HEADER_BYTES), active.data, range.start, range.length);
      active.bytesReceived += frame.length;
      active.gatheredCount++;
      this.#pieceFinal(active, range.bucket);
      const window = active.windows[range.chunk] as SendWindow;
      window.acked++;
      this.#send(active, range.chunk, this.window);
    }
    this.#finishIfDone(active);
    return kept;
  }

  /**
   * The piece's place in the layout, or undefined (dropped and counted) when the frame cannot belong to it:
   * no such piece, another value count, or (rs) a chunk this rank does not own / (ag) a chunk of another owner.
   */
  #checkShape(buffers: Buffers, subject: string, header: PieceHeader, frame: Uint8Array): ReturnType<typeof pieceRange> | undefined {
    const { layout } = buffers;
    if ((header.encoding ?? 'none') !== this.#compression) {
      return void this.#drop(header.family, 'malformed', subject, header, `a piece encoded as ${header.encoding ?? 'none'} in an all-reduce with compression ${this.#compression} (do all ranks run the same config?)`);
    }
    if (header.piece >= layout.pieceCount) return void this.#drop(header.family, 'malformed', subject, header, `piece ${header.piece} does not exist in a ${layout.pieceCount}-piece layout`);
    const range = pieceRange(layout, header.piece);
    const elements = pieceElements(frame, this.#compression);
    if (elements !== range.length) {
      return void this.#drop(header.family, 'malformed', subject, header, `piece ${header.piece} has ${elements} values, expected ${range.length} (do all ranks all-reduce vectors of ${layout.length}?)`);
    }
    if (header.family === 'rs' && range.chunk !== this.rank) return void this.#drop('rs', 'malformed', subject, header, `piece ${header.piece} belongs to chunk ${range.chunk}, not ${this.rank}`);
    if (header.family === 'ag' && range.chunk !== header.source) return void this.#drop('ag', 'malformed', subject, header, `piece ${header.piece} belongs to chunk ${range.chunk}, not ${header.source}`);
    return range;
  }

  /** Counts and logs a dropped frame; returns false (the frame is not kept) for `return this.#drop(…)`. */
  #drop(family: string, reason: DropReason, subject: string, header: PieceHeader, detail: string): false {
    this.drops.drop(family, reason, `${subject} from rank ${header.source} (step ${header.step}, piece ${header.piece}): ${detail}`);
    return false;
  }
  // ---- sending and reducing -------------------------------------------------------------------------------

  /** Sends up to `max` further pieces of chunk `owner` while its window allows. */
  #send(active: ActiveStep, owner: number, max: number): void {
    const window = active.windows[owner] as SendWindow;
    const { layout } = active.buffers;
    const chunk = layout.chunks[owner] as ChunkLayout;
    // Only the pieces of released buckets (a prefix of the chunk's pieces, Note [buckets in the layout]).
    const releasedPieces = active.released === 0 ? 0 : (chunk.piecesThrough[active.released - 1] as number);
    for (let i = 0; i < max && window.canSend() && window.sent < releasedPieces; i++) {
      const { start, length, piece } = layout.pieces[chunk.firstPiece + window.sent] as PieceRange;
      const header = { family: 'rs', source: this.rank, generation: this.generation, step: active.step, piece } as const;
      if (this.#compression !== 'none') {
        const frame = this.#frames.acquire(PIECE_HEADER_BYTES + encodedBytes(this.#compression, length));
        writePieceHeader(frame, { ...header, encoding: this.#compression });
        encodeValues(this.#compression, active.data.subarray(start, start + length), frame.subarray(PIECE_HEADER_BYTES));
        this.#frames.publishing(frame);
        this.#transport.sendToOwner(owner, [frame]);
        active.bytesSent += frame.length;
        window.sent++;
        continue;
      }
      if (this.#direct) {
        // Published straight from the caller's vector (Note [sending straight from the vector]).
        this.#transport.sendToOwner(owner, [pieceHeaderBytes(header), new Uint8Array(active.data.buffer, active.data.byteOffset + start * 4, length * 4)]);
      } else {
        // The client copies at flush anyway: build the message in a recycled frame.
        const frame = this.#frames.acquire(PIECE_HEADER_BYTES + length * 4);
        writePieceFrame(frame, header, length).set(active.data.subarray(start, start + length));
        this.#frames.publishing(frame);
        this.#transport.sendToOwner(owner, [frame]);
      }
      active.bytesSent += PIECE_HEADER_BYTES + length * 4;
      window.sent++;
    }
  }

  /**
   * All copies of `range` (a piece of this rank's chunk) are in and its bucket is released: sum in rank order,
   * publish, keep. Rank `lastSource`'s copy is `lastValues` when given (a view of the frame just received), else
   * held or in staging.
   */
  #reduce(active: ActiveStep, range: PieceRange, lastSource: number, lastValues: Float32Array | undefined): void {
    if (this.#compression !== 'none') return this.#reduceCompressed(active, range, this.#compression);
    if (this.#transport.sendToAllParts !== undefined) return this.#reduceInPlace(active, range, lastSource, lastValues);
    const { piece, start, length } = range;
    const frame = this.#frames.acquire(PIECE_HEADER_BYTES + length * 4);
    const values = writePieceFrame(frame, { family: 'ag', source: this.rank, generation: this.generation, step: active.step, piece }, length);
    this.#sumPiece(active, range, values, active.data.subarray(start, start + length), lastSource, lastValues);
    this.#publishReduced(active, frame, values, range);
  }

  /**
   * Sums the N copies of a piece of this rank's chunk into `out` in rank order — `own` (this rank's values),
   * `lastValues` for rank `lastSource` when given, else each rank's held frame or staged copy — and hands the held
   * frames back. `out` may be `own` itself (Note [the own chunk is summed in place]).
   */
  #sumPiece(active: ActiveStep, range: PieceRange, out: Float32Array, own: Float32Array, lastSource: number, lastValues: Float32Array | undefined): void {
    const { staging, held } = active.buffers;
    const { local, length } = range;
    const slot0 = (range.piece - active.buffers.own.firstPiece) * this.worldSize;
    const sources = active.buffers.sources;
    for (let k = 0; k < this.worldSize; k++) {
      const kept = held[slot0 + k];
      if (k === this.rank) sources[k] = own;
      else if (k === lastSource && lastValues !== undefined) sources[k] = lastValues;
      else if (kept !== undefined) sources[k] = alignedPieceValues(kept) as Float32Array;
      else sources[k] = (staging[k] as Float32Array).subarray(local, local + length);
    }
    sumInRankOrder(out, sources);
    sources.fill(EMPTY);
    for (let k = 0; k < this.worldSize; k++) {
      const kept = held[slot0 + k];
      if (kept === undefined) continue;
      held[slot0 + k] = undefined;
      this.#transport.releaseFrame(kept);
    }
  }

  /**
   * Note [the own chunk is summed in place]
   * Over a transport that sends views to every rank (direct links), a reduced piece is summed straight into the
   * caller's vector — its own values are one of the sources, which the rank-order sum allows (Note [out may be any
   * source] in shared/native/rank_order_sum.c) — and sent from there behind its header: no frame to fill, no copy
   * back into the vector (a 40 MB all-reduce at N = 2 copied 20 MB per rank for it). The vector's bytes of the own
   * chunk then stay final until the step resolves, and the step resolves only after every such send was written
   * (`pendingWrites`), so the caller never changes bytes still being sent. A failed step resolves at once; its
   * generation is over and its frames are dropped everywhere (as in Note [sending straight from the vector]).
   */
  #reduceInPlace(active: ActiveStep, range: PieceRange, lastSource: number, lastValues: Float32Array | undefined): void {
    const { start, length } = range;
    const values = active.data.subarray(start, start + length);
    this.#sumPiece(active, range, values, values, lastSource, lastValues);
    active.reduced++;
    if (active.reduced === active.buffers.own.pieceCount) active.ownChunkMs = performance.now() - active.started;
    if (!this.#forwardFirst) return this.#sendReducedInPlace(active, range);
    // Note [the first layers' sums first]
    const { heldBack } = active.buffers;
    if (this.#laterBucketUnsent(active, range.bucket)) heldBack.push(range);
    else this.#sendReducedInPlace(active, range);
    // Never hold a whole window: the other ranks need a free slot toward this rank to send the later buckets' pieces.
    while (heldBack.length > this.window - 1) this.#sendReducedInPlace(active, heldBack.shift()!);
    this.#sendHeldBack(active);
  }

  /**
   * Note [the first layers' sums first]
   * Buckets are released in backward order (the last layers first), so without care their reduced pieces also
   * arrive in that order, and the bucket of the FIRST layers — the one the next step's forward needs first —
   * arrives last, queued behind the bytes of the others. With `allGatherForwardFirst`, an owner holds back the
   * reduced pieces of a bucket while any later bucket still has own pieces to send, so on a busy link the later
   * bucket's sums overtake the earlier one's: the first layers' parameters can be updated, and the next step's
   * forward start on them, while the rest of the all-gather is still on the wire. The values are final in the
   * vector while held (sent from there later, as in Note [the own chunk is summed in place]).
   * Held pieces keep the other ranks' send windows toward this owner occupied (the reduced piece is their
   * acknowledgement, flow.ts), so at most window − 1 are held: each rank can always send its next piece here,
   * and a later bucket's pieces always get through. Which pieces are held changes no value, only when they travel.
   */
  #laterBucketUnsent(active: ActiveStep, bucket: number): boolean {
    const { ownLeft } = active.buffers;
    for (let b = bucket + 1; b < ownLeft.length; b++) if ((ownLeft[b] as number) > 0) return true;
    return false;
  }

  /** Sends the held-back pieces no later bucket holds up any more, the latest bucket first. */
  #sendHeldBack(active: ActiveStep): void {
    const { heldBack } = active.buffers;
    for (let i = heldBack.length - 1; i >= 0; i--) {
      const range = heldBack[i] as PieceRange;
      if (this.#laterBucketUnsent(active, range.bucket)) continue;
      heldBack.splice(i, 1);
      this.#sendReducedInPlace(active, range);
      i = heldBack.length;
    }
  }

  /** Publishes an own reduced piece straight from the vector; it is final here once written. */
  #sendReducedInPlace(active: ActiveStep, range: PieceRange): void {
    const { piece, start, length, bucket } = range;
    const header = pieceHeaderBytes({ family: 'ag', source: this.rank, generation: this.generation, step: active.step, piece });
    active.pendingWrites++;
    active.buffers.ownLeft[bucket]!--;
    this.#transport.sendToAllParts!([header, new Uint8Array(active.data.buffer, active.data.byteOffset + start * 4, length * 4)], () => {
      active.pendingWrites--;
      this.#pieceFinal(active, bucket);
      this.#finishIfDone(active);
    });
    active.bytesSent += PIECE_HEADER_BYTES + length * 4;
  }

  /** One more piece of `bucket` is final in the vector here; the bucket's waiter is told once all are. */
  #pieceFinal(active: ActiveStep, bucket: number): void {
    const left = --active.buffers.bucketLeft[bucket]!;
    if (left === 0 && this.#active === active) {
      const w = active.waiters?.[bucket];
      if (w !== undefined) w.resolve();
    }
  }

  /**
   * #reduce for a compressed all-reduce: this rank's contribution rounded as if sent, the decoded copies of the
   * others, summed in rank order in float32; the sum rounded once more for the all-gather, and kept rounded here
   * too, so every replica holds the same bits.
   */
  #reduceCompressed(active: ActiveStep, range: PieceRange, compression: Exclude<Compression, 'none'>): void {
    const { staging } = active.buffers;
    const { piece, start, length, local } = range;
    const ownRounded = active.buffers.ownRounded.subarray(0, length);
    ownRounded.set(active.data.subarray(start, start + length));
    roundTrip(compression, ownRounded);
    const sources = active.buffers.sources;
    for (let k = 0; k < this.worldSize; k++) sources[k] = k === this.rank ? ownRounded : (staging[k] as Float32Array).subarray(local, local + length);
    const sum = active.buffers.sum.subarray(0, length);
    sumInRankOrder(sum, sources);
    sources.fill(EMPTY);
    const frame = this.#frames.acquire(PIECE_HEADER_BYTES + encodedBytes(compression, length));
    writePieceHeader(frame, { family: 'ag', source: this.rank, generation: this.generation, step: active.step, piece, encoding: compression });
    encodeValues(compression, sum, frame.subarray(PIECE_HEADER_BYTES));
    roundTrip(compression, sum);
    this.#publishReduced(active, frame, sum, range);
  }

  /** A reduced piece is done: publish its frame to the other ranks and keep `values` (what they receive) here. */
  #publishReduced(active: ActiveStep, frame: Uint8Array, values: Float32Array, range: PieceRange): void {
    this.#frames.publishing(frame);
    this.#transport.sendToAll(frame);
    active.bytesSent += frame.length;
    active.data.set(values, range.start);
    this.#pieceFinal(active, range.bucket);
    active.reduced++;
    if (active.reduced === active.buffers.own.pieceCount) active.ownChunkMs = performance.now() - active.started;
  }

  // ---- completion and failure -----------------------------------------------------------------------------

  #finishIfDone(active: ActiveStep): void {
    const { layout, own } = active.buffers;
    if (this.#active !== active || active.released < layout.buckets.length || active.reduced < own.pieceCount || active.gatheredCount < layout.pieceCount - own.pieceCount || active.pendingWrites > 0 || active.buffers.heldBack.length > 0) return;
    this.#active = undefined;
    active.resolve({ totalMs: performance.now() - active.started, ownChunkMs: active.ownChunkMs, bytesSent: active.bytesSent, bytesReceived: active.bytesReceived });
  }

  /**
   * Note [one watchdog, not a timer per step]
   * A step fails after `timeoutMs`. Instead of a setTimeout and a clearTimeout per step (a timer-list insert and
   * removal, a closure and a Timeout object per step, which matter when a small vector's step takes ~1 ms), one
   * timer is armed when a step's first bucket is released and no timer is armed yet; when it fires it fails the running step if that step is
   * overdue, else re-arms for exactly what is left of the running step's time, else (no step running) stays
   * disarmed. Every step still fails exactly `timeoutMs` after it started. It is unref'd: while a step runs, the
   * NATS connection keeps the process alive, and a lost connection fails the step at once (#watchConnection).
   */
  #checkDeadline(): void {
    this.#watchdog = undefined;
    const active = this.#active;
    // No step, or one whose buckets are still being computed (its deadline starts at its first release, which arms it).
    if (active === undefined || active.released === 0 || this.#closed) return;
    const left = active.started + this.timeoutMs - performance.now();
    if (left <= 0) return this.#fail(active, this.#timeoutError(active));
    this.#watchdog = setTimeout(this.#onWatchdog, left).unref();
  }

  #fail(active: ActiveStep, error: Error): void {
    if (this.#active !== active) return;
    this.#active = undefined;
    active.failure = error;
    active.buffers.heldBack.length = 0;
    for (const w of active.waiters ?? []) w?.reject(error);
    active.reject(error);
  }

  /** Names what is missing: peers whose copies of our chunk did not arrive, owners whose reduced pieces did not. */
  #timeoutError(active: ActiveStep): ClusterError {
    const { layout, own, arrived, gathered } = active.buffers;
    const missingCopies: number[] = [];
    for (let k = 0; k < this.worldSize; k++) {
      if (k === this.rank) continue;
      for (let p = 0; p < own.pieceCount; p++) {
        if (arrived[p * this.worldSize + k] === 0) {
          missingCopies.push(k);
          break;
        }
      }
    }
    const missingOwners: number[] = [];
    for (const c of layout.chunks) {
      if (c.owner === this.rank) continue;
      for (let p = c.firstPiece; p < c.firstPiece + c.pieceCount; p++) {
        if (gathered[p] === 0) {
          missingOwners.push(c.owner);
          break;
        }
      }
    }
    const parts: string[] = [];
    if (missingCopies.length > 0) parts.push(`no pieces of chunk ${this.rank} (owned by this rank) from rank(s) ${missingCopies.join(', ')}`);
    if (missingOwners.length > 0) parts.push(`no reduced pieces of chunk(s) ${missingOwners.join(', ')} from their owner rank(s) ${missingOwners.join(', ')}`);
    const missing = missingCopies.length > 0 ? missingCopies : missingOwners;
    return new ClusterError(`all-reduce of step ${active.step} on rank ${this.rank} timed out after ${this.timeoutMs} ms: ${parts.join('; ')}`, {
      ...(missing[0] === undefined ? {} : { rank: missing[0] }),
      step: active.step,
      hint: 'the named ranks died, stalled, or all-reduce vectors of another length; check their logs',
    });
  }

  #internalError(active: ActiveStep, error: unknown): ClusterError {
    return new ClusterError(`all-reduce of step ${active.step} on rank ${this.rank} failed: ${(error as Error)?.message ?? String(error)}`, { rank: this.rank, step: active.step, cause: error });
  }

  #buffersFor(length: number): Buffers {
    const cached = this.#buffers;
    if (cached !== undefined && cached.layout.length === length) return cached;
    const buckets = this.#buckets !== undefined && length === this.#expectedLength ? this.#buckets : undefined;
    const layout = planLayout(length, this.worldSize, this.pieceBytes / 4, buckets);
    const own = layout.chunks[this.rank] as ChunkLayout;
    const staging = Array.from({ length: this.worldSize }, (_, k) => new Float32Array(k === this.rank ? 0 : own.length));
    const buffers: Buffers = {
      layout,
      own,
      staging,
      arrived: new Uint8Array(own.pieceCount * this.worldSize),
      copies: new Uint16Array(own.pieceCount),
      held: new Array<Uint8Array | undefined>(own.pieceCount * this.worldSize).fill(undefined),
      gathered: new Uint8Array(layout.pieceCount),
      ownRounded: new Float32Array(this.#compression === 'none' ? 0 : this.pieceBytes / 4),
      sum: new Float32Array(this.#compression === 'none' ? 0 : this.pieceBytes / 4),
      sources: new Array<Float32Array>(this.worldSize).fill(EMPTY),
      windows: layout.chunks.map((c) => new SendWindow(c.owner === this.rank ? 0 : c.pieceCount, this.window)),
      bucketPieces: new Int32Array(layout.buckets.length),
      ownBucketPieces: new Int32Array(layout.buckets.length),
      bucketLeft: new Int32Array(layout.buckets.length),
      ownLeft: new Int32Array(layout.buckets.length),
      heldBack: [],
    };
    for (const p of layout.pieces) {
      buffers.bucketPieces[p.bucket]!++;
      if (p.chunk === this.rank) buffers.ownBucketPieces[p.bucket]!++;
    }
    this.#buffers = buffers;
    return buffers;
  }
}

/**
 * Bytes (values and headers) one step delivers to `rank` from each source rank k: k's copy of this rank's chunk
 * (reduce-scatter) and k's reduced chunk (all-gather); 0 from itself. Float32 bytes: a compressed all-reduce
 * receives about half of that (+ 4 bytes of fp16 scale per frame).
 */
function receivedBytesPerStep(buffers: Buffers, rank: number): number[] {
  const { layout, own } = buffers;
  return layout.chunks.map((chunk) => (chunk.owner === rank ? 0 : (own.length + chunk.length) * 4 + (own.pieceCount + chunk.pieceCount) * PIECE_HEADER_BYTES));
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(field, 'must be a positive number', { value });
  return value;
}

/** A step that could not start: every call is a no-op and `done` rejects with `error`. */
function failedStep(error: ClusterError): AllReduceStep {
  const done = Promise.reject(error);
  done.catch(() => undefined);
  return { bucketCount: 0, release: () => undefined, cancel: () => undefined, reduced: () => done.then(() => undefined), done };
}

interface Waiter {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function checkRelease(bucket: number, count: number): void {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= count) throw new ClusterError(`bucket ${bucket} does not exist (the layout has ${count})`, {});
}
