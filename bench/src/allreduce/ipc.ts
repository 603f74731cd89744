import type { Compression } from '@gradmesh/shared/internal';

/** Messages between the all-reduce benchmark (parent) and its child processes, over the fork IPC channel (advanced serialization: a link secret travels as a Uint8Array). */

/**
 * Where pieces travel: through nats-server; over direct links between the ranks (the addresses from `listen`),
 * TCP only; or `shm`: the links with pieces through shared memory between ranks of one host (the worker's default,
 * Note [pieces through shared memory] in worker/src/allreduce/shared-memory-piece-transport.ts).
 */
export type BenchTransport = 'nats' | 'direct' | 'shm';

/** Whether a transport runs over the direct links (its rows get the links' ceiling). */
export function overLinks(transport: BenchTransport): boolean {
  return transport !== 'nats';
}

/** Frames a rank sent through its segment and over the links, counted per peer; `noSlot` of `links` for want of a free slot; its slots' use. */
export interface SharedMemoryFrames {
  readonly memory: number;
  readonly links: number;
  readonly noSlot: number;
  readonly noRoom: number;
  /** The most slots of one rank's segment out at once (over ranks: the largest), against its `slots`. */
  readonly peakSlots: number;
  readonly slots: number;
}

export interface BenchLinks {
  readonly addresses: readonly string[];
  readonly secret: Uint8Array;
  /** Pieces through shared memory between ranks of this host (the `shm` transport). */
  readonly sharedMemory?: boolean;
}

export type ChildInit =
  | {
      readonly type: 'init';
      readonly role: 'allreduce';
      readonly url: string;
      readonly runId: string;
      readonly rank: number;
      readonly worldSize: number;
      readonly elements: number;
      readonly compression: Compression;
      /** Direct links instead of NATS for the pieces. */
      readonly links?: BenchLinks;
    }
  /**
   * Single-stream reference of the direct links: `linkSender` (rank 0) sends `totalBytes` in `messageBytes` frames
   * over one link to `linkReceiver` (rank 1), whose listener is at `address`.
   */
  | { readonly type: 'init'; readonly role: 'linkReceiver'; readonly runId: string; readonly secret: Uint8Array; readonly totalBytes: number }
  | { readonly type: 'init'; readonly role: 'linkSender'; readonly runId: string; readonly secret: Uint8Array; readonly address: string; readonly totalBytes: number; readonly messageBytes: number }
  /** Single-stream reference: `publisher` sends `totalBytes` in `messageBytes` messages to `subscriber`. */
  | { readonly type: 'init'; readonly role: 'publisher' | 'subscriber'; readonly url: string; readonly subject: string; readonly totalBytes: number; readonly messageBytes: number }
  /**
   * Round-trip reference of the small-vector latency: `pinger` publishes `bytes` on `subject`, `echo` answers each
   * message with `bytes` of its own on `<subject>.back`, and the pinger times each exchange.
   */
  | { readonly type: 'init'; readonly role: 'pinger' | 'echo'; readonly url: string; readonly subject: string; readonly bytes: number };

export type ParentCommand =
  | ChildInit
  /** Open this process's link listener on 127.0.0.1 (once; kept for every later init) and report its address. */
  | { readonly type: 'listen' }
  /** allreduce: reset the vector to this rank's input (before a `run`, so that no rank starts while another still resets). */
  | { readonly type: 'prepare' }
  /** allreduce: all-reduce the prepared vector as `step`; publisher: send everything. */
  | { readonly type: 'run'; readonly step: number }
  /**
   * allreduce: all-reduce steps 0 … warmup+count−1 back to back (each from this rank's input) and report the
   * time of each of the last `count`; pinger: the same with round trips.
   */
  | { readonly type: 'runMany'; readonly warmup: number; readonly count: number }
  /** allreduce: report a hash of the result's bits (replicas must agree). */
  | { readonly type: 'checksum' }
  /** The sums and landing every all-reduce of `elements` across `worldSize` ranks must do (Note [work besides the bytes]). */
  | { readonly type: 'necessaryWork'; readonly worldSize: number; readonly elements: number; readonly runs: number }
  /**
   * allreduce: also open the links' all-to-all (Note [the links' all-to-all]) next to the all-reduce, for `meshRun`
   * to alternate with its runs: this rank dials every other rank's listener at `addresses` under its own run id;
   * each `meshRun` sends `bytesPerPeer` to each peer (round-robin, `messageBytes` frames taken from a vector of
   * `sourceBytes`) and waits for as many from each. Closed by the next init.
   */
  | {
      readonly type: 'meshOpen';
      readonly runId: string;
      readonly secret: Uint8Array;
      readonly rank: number;
      readonly worldSize: number;
      readonly addresses: readonly string[];
      readonly bytesPerPeer: number;
      readonly messageBytes: number;
      readonly sourceBytes: number;
    }
  | { readonly type: 'meshRun' }
  /** Report the CPU time this process used so far. */
  | { readonly type: 'cpu' }
  | { readonly type: 'exit' };

export type ChildReply =
  | { readonly type: 'listening'; readonly address: string }
  /** The all-to-all is open (`meshOpen`), or one `meshRun` is over. */
  | { readonly type: 'meshReady' }
  | { readonly type: 'meshDone' }
  /** An all-reduce rank says what its data path uses (rank-order sum, NATS client patches), in one line. */
  | { readonly type: 'ready'; readonly dataPath?: string }
  /** `prepareCpuMs`: CPU spent resetting the vector (not part of the all-reduce). */
  | { readonly type: 'prepared'; readonly prepareCpuMs: number }
  /**
   * `ms`: from the call to the resolution this rank sees; `startMs`, `endMs`: the same two instants on the clock every
   * process of the machine shares (performance.timeOrigin + now()), so the parent can time the collective as a whole.
   */
  | { readonly type: 'done'; readonly step: number; readonly ms: number; readonly startMs?: number; readonly endMs?: number }
  | { readonly type: 'received'; readonly bytes: number }
  /**
   * The wall time of each timed all-reduce (from the call to its resolution) or round trip of a `runMany`, in
   * order, and the CPU time (user + system) this process spent on all of them together.
   */
  | { readonly type: 'times'; readonly ms: number[]; readonly cpuMs: number }
  /** `sharedMemory`: the `shm` transport's frames through memory and over the links so far (warm-up included). */
  | { readonly type: 'checksum'; readonly value: string; readonly sharedMemory?: SharedMemoryFrames }
  /** CPU ms of all ranks' rank-order sums and of landing the reduced chunks, for one all-reduce (median of the runs). */
  | { readonly type: 'necessaryWork'; readonly sumMs: number; readonly landingMs: number }
  /** User + system CPU time since the process started, and the garbage collector's pauses among it, in ms. */
  | { readonly type: 'cpu'; readonly ms: number; readonly gcMs: number; readonly userMs: number; readonly systemMs: number }
  | { readonly type: 'failed'; readonly message: string };
