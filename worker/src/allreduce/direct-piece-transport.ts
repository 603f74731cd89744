import { ClusterError, ConfigError } from '@gradmesh/shared/internal';
import { dialPeer, releaseFrame, type IncomingLink, type LinkIdentity, type OutgoingLink, type PeerListener } from '@gradmesh/transport';
import { ConnectionInterrupted } from './connection-interrupted.js';
import { FrameWrites } from './frame-writes.js';
import type { PieceSink, PieceTransport } from './piece-transport.js';

export interface DirectPieceTransportOptions {
  /** This worker's listener (one per process, opened at start; its address is what the peers were told). */
  readonly listener: PeerListener;
  /** This rank in this generation, with the generation's link secret. */
  readonly identity: LinkIdentity;
  /** addresses[rank] = where that rank's listener accepts ("host:port"), from the assignment. */
  readonly addresses: readonly string[];
  /** How long to keep dialing a peer that does not accept yet (it may still be building its replica). */
  readonly dialTimeoutMs?: number;
}

const DEFAULT_DIAL_TIMEOUT_MS = 60_000;
/** The largest frame a link carries: a 1 MiB piece and its header fit many times over. */
const MAX_FRAME_BYTES = 64 << 20;

/**
 * Pieces over direct links (Note [two paths for the same pieces] in piece-transport.ts). This rank dials every
 * peer once per generation and sends on that link only; it receives on the links the peers dialed, which the
 * listener hands over once their handshake proved the generation's secret. A link knows its peer's rank, so a
 * frame's claimed source is checked against it (a peer cannot send as another rank).
 *
 * Note [frames wait for their link]
 * A peer is dialed when the first frame for it is sent, not when the generation is assigned: the coordinator sends
 * the first command only once every rank reported ready, and a rank registers its links before it does, so by then
 * every peer accepts — however long a joiner took to load its data and build its replica. Dialing takes a few
 * milliseconds; frames sent meanwhile wait in a per-peer list, in order, holding views of the caller's vector
 * exactly as a socket would (the all-reduce never changes bytes still being sent, Note [sending straight from the
 * vector] in rsag.ts); the flow window bounds them.
 *
 * Note [a broken link ends the generation's data path]
 * A link that closes (the peer died, was partitioned, or broke the protocol) or cannot be dialed is not redialed:
 * the frames in flight on it are gone, as with a NATS reconnect, and the coordinator forms a new generation once it
 * sees the loss (or when the step times out). The running step, and every later one, fails at once with
 * ConnectionInterrupted — the worker then waits for the next generation, which brings new links and a new secret.
 * Dials still in progress are abandoned then (and on close): a dial would otherwise keep retrying a peer that is
 * gone for the rest of its timeout.
 */
export class DirectPieceTransport implements PieceTransport {
  readonly maxFrameBytes = MAX_FRAME_BYTES;
  readonly maxPendingBytes = undefined;
  readonly sendsViews = true;
  readonly #listener: PeerListener;
  readonly #identity: LinkIdentity;
  readonly #addresses: readonly string[];
  readonly #dialTimeoutMs: number;
  readonly #out: (OutgoingLink | undefined)[];
  readonly #waiting: { parts: readonly Uint8Array[]; written: (() => void) | undefined }[][];
  /** dialed[k]: a dial to rank k was started (Note [frames wait for their link]). */
  readonly #dialed: boolean[];
  readonly #in: (IncomingLink | undefined)[];
  readonly #labels: string[];
  readonly #writes = new FrameWrites();
  #sink: PieceSink | undefined;
  #stopAccepting: (() => void) | undefined;
  #failure: ClusterError | undefined;
  #closed = false;
  /** Abandons the dials in progress once the links can no longer be used (closed or failed). */
  readonly #dials = new AbortController();

  constructor(options: DirectPieceTransportOptions) {
    const { identity, addresses } = options;
    if (addresses.length !== identity.worldSize) throw new ConfigError('links.addresses', `must name one address per rank (${identity.worldSize})`, { value: addresses.length });
    this.#listener = options.listener;
    this.#identity = identity;
    this.#addresses = addresses;
    this.#dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    const n = identity.worldSize;
    this.#out = new Array<OutgoingLink | undefined>(n).fill(undefined);
    this.#in = new Array<IncomingLink | undefined>(n).fill(undefined);
    this.#waiting = Array.from({ length: n }, () => []);
    this.#dialed = new Array<boolean>(n).fill(false);
    this.#labels = addresses.map((a, k) => `link from rank ${k} (${a})`);
  }

  /** Set once a link broke or could not be dialed (Note [a broken link ends the generation's data path]). */
  get failure(): ClusterError | undefined {
    return this.#failure;
  }

  open(sink: PieceSink): void {
    this.#sink = sink;
    if (this.#identity.worldSize < 2) return;
    // Peers are dialed on first use (Note [frames wait for their link]).
    this.#stopAccepting = this.#listener.accept(this.#identity, (link) => this.#onIncoming(link));
  }

  sendToOwner(owner: number, parts: readonly Uint8Array[]): void {
    this.#send(owner, parts, parts.length === 1 ? this.#writes.track(parts[0]!, 1) : undefined);
  }

  sendToAll(frame: Uint8Array): void {
    const { rank, worldSize } = this.#identity;
    const written = this.#writes.track(frame, worldSize - 1);
    for (let k = 0; k < worldSize; k++) if (k !== rank) this.#send(k, [frame], written);
  }

  sendToAllParts(parts: readonly Uint8Array[], written: () => void): void {
    const { rank, worldSize } = this.#identity;
    let left = worldSize - 1;
    const one = (): void => {
      if (--left === 0) written();
    };
    for (let k = 0; k < worldSize; k++) if (k !== rank) this.#send(k, parts, one);
  }

  /**
   * `parts` (as one frame) to rank `peer` alone, without copying them; `written` runs once the link has written
   * them, or could not (the transport failed). For a transport layered on the links (shared-memory-piece-transport.ts).
   */
  sendTo(peer: number, parts: readonly Uint8Array[], written?: () => void): void {
    this.#send(peer, parts, written);
  }

  whenWritten(frame: Uint8Array, done: () => void): void {
    this.#writes.watch(frame, done);
  }

  isOwnedFrame(): boolean {
    return true;
  }

  releaseFrame(frame: Uint8Array): void {
    releaseFrame(frame);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dials.abort('the all-reduce of this generation was closed');
    this.#stopAccepting?.();
    for (const link of this.#out) link?.close();
    for (const link of this.#in) link?.close();
    this.#dropWaiting();
    this.#writes.clear();
  }

  /** Frames that waited for a link that will not come: their `written` callbacks run (nothing reads the parts any more). */
  #dropWaiting(): void {
    for (const w of this.#waiting) for (const frame of w.splice(0)) if (frame.written !== undefined) queueMicrotask(frame.written);
  }

  #send(peer: number, parts: readonly Uint8Array[], written: (() => void) | undefined): void {
    if (this.#closed || this.#failure !== undefined) {
      // Nothing will be written: whoever waits for it may go on (the step fails with the failure anyway).
      if (written !== undefined) queueMicrotask(written);
      return;
    }
    const link = this.#out[peer];
    if (link !== undefined) return link.send(parts, written);
    this.#waiting[peer]!.push({ parts, written });
    if (!this.#dialed[peer]) {
      this.#dialed[peer] = true;
      void this.#dial(peer);
    }
  }

  async #dial(peer: number): Promise<void> {
    const address = this.#addresses[peer]!;
    let link: OutgoingLink;
    try {
      link = await dialPeer(address, this.#identity, peer, { timeoutMs: this.#dialTimeoutMs, signal: this.#dials.signal });
    } catch (error) {
      return this.#broken(peer, `rank ${this.#identity.rank} cannot link to rank ${peer}: ${(error as Error).message}`);
    }
    if (this.#closed || this.#failure !== undefined) return link.close();
    this.#out[peer] = link;
    // The link's reason names the peer and its address.
    link.onClose((reason) => this.#broken(peer, `rank ${this.#identity.rank}: ${reason}`));
    // Frames sent while dialing go out first, in order (Note [frames wait for their link]).
    const waiting = this.#waiting[peer]!.splice(0);
    for (const w of waiting) link.send(w.parts, w.written);
  }

  #onIncoming(link: IncomingLink): void {
    const peer = link.peerRank;
    if (this.#closed || this.#failure !== undefined || this.#in[peer] !== undefined) return link.close();
    this.#in[peer] = link;
    const label = this.#labels[peer]!;
    const sink = this.#sink!;
    link.onFrame((frame) => {
      if (!this.#closed) sink.onFrame(frame, undefined, undefined, peer, label);
    });
    link.onClose((reason) => this.#broken(peer, `rank ${this.#identity.rank}: ${reason}`));
  }

  #broken(peer: number, message: string): void {
    if (this.#closed || this.#failure !== undefined) return;
    this.#failure = new ConnectionInterrupted(message, { rank: peer, hint: 'the peer died or the network between the two workers failed; the coordinator forms a new generation' });
    this.#dials.abort('a link of this generation broke');
    this.#dropWaiting();
    this.#writes.clear();
    this.#sink?.onLost(this.#failure);
  }
}
