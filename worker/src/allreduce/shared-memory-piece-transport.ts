import { bulkFloats, ClusterError } from '@gradmesh/shared/internal';
import { createSegment, hostKey, openPeerSegment, SEGMENT_HEADER_BYTES, sharedMemoryMapper, type OwnSegment, type SegmentMapper } from '@gradmesh/transport';
import { ConnectionInterrupted } from './connection-interrupted.js';
import { FrameWrites } from './frame-writes.js';
import type { DirectPieceTransport } from './direct-piece-transport.js';
import { windowFor } from './flow.js';
import type { PieceSink, PieceTransport } from './piece-transport.js';
import { decodeControl, encodeAnswer, encodeOffer, encodeRelease, encodeSlot, HOST_KEY_BYTES, isControlMessage } from './shared-memory/control-messages.js';
import { SlotPool } from './shared-memory/slot-pool.js';

/** The links' part of this transport: what DirectPieceTransport offers (a fake in tests). */
export type LinkTransport = PieceTransport & Pick<DirectPieceTransport, 'sendTo'>;

export interface SharedMemoryPieceTransportOptions {
  /** The generation's direct links: they carry the notices, and every frame a peer cannot take from memory. */
  readonly links: LinkTransport;
  readonly rank: number;
  readonly worldSize: number;
  /** Where segments live (tests: a directory of their own). Default /dev/shm. */
  readonly segmentDir?: string;
  /** This host's key (Note [same host] in @gradmesh/transport); tests give two ranks different keys to act as two hosts. */
  readonly hostKey?: string;
  /** Slots in this rank's segment; default: enough for the flow windows of a default all-reduce (see slotCountFor). */
  readonly slotCount?: number;
  /** Told once how frames reach each peer: when every peer has answered this rank's offer, or at open when there is no segment. */
  readonly onPeerPaths?: (paths: readonly PeerPath[]) => void;
  /** The native mapping functions (default: the addon's); tests may pass `{ reason }` to act as a host without them. */
  readonly mapper?: SegmentMapper | { readonly reason: string };
}

/** The payload a slot holds: a 1 MiB piece (rsag's default) and its header, rounded to a page (slots reserve whole pages). */
export const SLOT_BYTES = (1 << 20) + 4096;
/** What this transport tells the all-reduce it may keep in flight toward one rank (rsag's default too). */
const MAX_PENDING_BYTES = 64 << 20;
const MAX_SLOTS = 64;

/**
 * Slots for what a rank may have in flight with 1 MiB pieces (Note [flow control: a window of unacknowledged
 * pieces per destination] in flow.ts): W reduce-scatter pieces toward each of the N − 1 owners and W reduced pieces
 * of its own chunk on their way to everyone (one slot serves all peers) — and as many again, because a slot comes
 * back only when its release message arrives, which trails the acknowledgement that reopens the window (the peak in
 * use, measured at N = 2, 3, 4 with 40 MB, was 28–32 / 26–32 / 20–30 against N·W = 16 / 24 / 20). Unused slots
 * cost nothing: their pages are reserved when first written (Note [reserve before writing]).
 */
export function slotCountFor(worldSize: number): number {
  const w = Math.max(1, windowFor(worldSize, 1 << 20, MAX_PENDING_BYTES));
  return Math.min(MAX_SLOTS, 2 * worldSize * w + 2);
}

/** How frames reach one peer: through this rank's segment, or over the link (and why). */
export interface PeerPath {
  readonly peer: number;
  readonly path: 'memory' | 'links';
  readonly why?: string;
}

interface PeerSegment {
  readonly buffer: ArrayBuffer;
  readonly slotCount: number;
  readonly slotBytes: number;
  /** held[slot] = 1 while this rank views that slot of the peer's segment. */
  readonly held: Uint8Array;
}

/** Where a delivered view lives: rank `peer`'s segment, slot `slot`. */
interface HeldView {
  readonly peer: number;
  readonly slot: number;
}

/**
 * Note [pieces through shared memory]
 * Over direct links every byte of an all-reduce is copied twice by the kernel (into the sender's socket, out of
 * the receiver's) — at N = 3, 4 on this 2-core machine that is most of the ranks' CPU (README, "Where N = 3, 4 lose
 * it"). Between ranks of one host this transport copies each frame once, into a slot of the sender's segment
 * (Note [a segment per rank and generation] in @gradmesh/transport), and the link carries a 12-byte notice; the
 * receiver is handed a read-only view of the slot, sums or lands straight from it, and releases it, which the
 * sender learns from a release message (Note [what the links carry beside shared memory]). An all-gather piece
 * goes to every peer from ONE slot, read by all of them. It is NCCL's SHM transport in miniature; the all-reduce
 * above it (rsag.ts) is unchanged, so the sums, their order and the vectors are bitwise those of the links.
 *
 * Falling back is per frame and per peer, and never waits: a peer on another host (Note [same host]), one that
 * has not answered the offer yet (the first step), one whose mapping failed, a frame larger than a slot, or no
 * free slot — the frame goes over the link as it would without this transport, in order with the notices on the
 * same link. So no slot shortage can deadlock the all-reduce, and a host without the native addon or /dev/shm
 * simply uses the links.
 *
 * Trust: a peer is the same authenticated rank as on its link. Whatever its messages claim — slot numbers,
 * lengths, sizes, names, releases — is checked against what this rank knows, and a message that fails a check
 * ends the generation's data path like a link that broke the protocol (Note [a broken link ends the generation's
 * data path]): nothing outside a mapped segment is ever read, and no slot another peer still reads is reused.
 * Peer segments are mapped read-only.
 */
export class SharedMemoryPieceTransport implements PieceTransport {
  readonly maxFrameBytes: number;
  readonly maxPendingBytes = MAX_PENDING_BYTES;
  readonly sendsViews = true;
  readonly #links: LinkTransport;
  readonly #rank: number;
  readonly #worldSize: number;
  readonly #segmentDir: string | undefined;
  readonly #hostKey: Uint8Array;
  readonly #slotCount: number;
  readonly #mapper: SegmentMapper | { readonly reason: string };
  readonly #onPeerPaths: ((paths: readonly PeerPath[]) => void) | undefined;
  /** reserved[slot]: bytes of that slot reserved in the file so far (Note [reserve before writing]). */
  #reserved: Uint32Array | undefined;
  #segment: OwnSegment | undefined;
  #slots: SlotPool | undefined;
  /** Why this rank offers no segment (undefined: it does, or has not tried yet). */
  #noSegment: string | undefined;
  #offeredAll = false;
  /** Every rank but this one, in order (the peers of a broadcast). */
  readonly #others: readonly number[];
  /** answered[k]: 0 = not yet, 1 = mapped (frames to k may use slots), 2 = refused. */
  readonly #answered: Uint8Array;
  #answers = 0;
  readonly #peers: (PeerSegment | undefined)[];
  /** Why a peer's offer was not taken (for the report). */
  readonly #refusals: (string | undefined)[];
  readonly #views = new Map<Uint8Array, HeldView>();
  readonly #releases: number[][];
  #releaseScheduled = false;
  readonly #writes = new FrameWrites();
  #sink: PieceSink | undefined;
  #failure: ClusterError | undefined;
  #closed = false;
  /**
   * Frames sent through memory and over the links, counted per peer (a broadcast to 3 peers from one slot counts 3);
   * `noSlot`: those of `links` that went over the links only because every slot was being read; `noRoom`: because
   * the tmpfs had no room for the slot's pages.
   */
  readonly sent = { memory: 0, links: 0, noSlot: 0, noRoom: 0 };

  constructor(options: SharedMemoryPieceTransportOptions) {
    this.#links = options.links;
    this.#rank = options.rank;
    this.#worldSize = options.worldSize;
    this.#segmentDir = options.segmentDir;
    this.#hostKey = Buffer.from(options.hostKey ?? hostKey(options.segmentDir), 'hex');
    if (this.#hostKey.length !== HOST_KEY_BYTES) throw new RangeError(`host key must be ${HOST_KEY_BYTES} bytes of hex`);
    this.#slotCount = options.slotCount ?? slotCountFor(options.worldSize);
    this.#mapper = options.mapper ?? sharedMemoryMapper();
    this.#onPeerPaths = options.onPeerPaths;
    this.maxFrameBytes = options.links.maxFrameBytes;
    const n = options.worldSize;
    this.#answered = new Uint8Array(n);
    this.#others = Array.from({ length: n }, (_, k) => k).filter((k) => k !== options.rank);
    this.#peers = new Array<PeerSegment | undefined>(n).fill(undefined);
    this.#refusals = new Array<string | undefined>(n).fill(undefined);
    this.#releases = Array.from({ length: n }, () => []);
  }

  get failure(): ClusterError | undefined {
    return this.#failure ?? this.#links.failure;
  }

  /** Per peer: 'memory' once frames to it go through this rank's segment, else 'links' and why (the report's status). */
  peerPaths(): readonly PeerPath[] {
    const out: PeerPath[] = [];
    for (let k = 0; k < this.#worldSize; k++) {
      if (k === this.#rank) continue;
      if (this.#answered[k] === 1) out.push({ peer: k, path: 'memory' });
      else out.push({ peer: k, path: 'links', why: this.#noSegment ?? (this.#answered[k] === 2 ? 'the peer could not map this rank\'s segment' : 'no answer yet') });
    }
    return out;
  }

  /** The most slots of this rank's segment out at once so far, and how many it has. */
  slotUse(): { readonly peak: number; readonly slots: number } {
    return { peak: this.#slots?.peakInUse ?? 0, slots: this.#slots?.slotCount ?? 0 };
  }

  /** Why the offer of each peer was refused here (undefined: taken, or none came). */
  refusals(): readonly (string | undefined)[] {
    return this.#refusals;
  }

  open(sink: PieceSink): void {
    this.#sink = sink;
    this.#links.open({
      onFrame: (data, family, owner, senderRank, label) => this.#onLinkFrame(data, family, owner, senderRank, label),
      onLost: (error) => sink.onLost(error),
    });
    if (this.#worldSize < 2) return;
    if ('reason' in this.#mapper) {
      this.#noSegment = this.#mapper.reason;
      this.#onPeerPaths?.(this.peerPaths());
      return;
    }
    try {
      this.#segment = createSegment(SEGMENT_HEADER_BYTES + this.#slotCount * SLOT_BYTES, this.#mapper, this.#segmentDir);
      this.#slots = new SlotPool(this.#slotCount, this.#worldSize);
      this.#reserved = new Uint32Array(this.#slotCount);
    } catch (error) {
      this.#noSegment = `no shared-memory segment: ${(error as Error).message}`;
    }
    if (this.#noSegment !== undefined) this.#onPeerPaths?.(this.peerPaths());
  }

  sendToOwner(owner: number, parts: readonly Uint8Array[]): void {
    const track = parts.length === 1 ? this.#writes.track(parts[0]!, 1) : undefined;
    this.#sendFrame([owner], parts, track);
  }

  sendToAll(frame: Uint8Array): void {
    this.#sendFrame(this.#others, [frame], this.#writes.track(frame, 1));
  }

  sendToAllParts(parts: readonly Uint8Array[], written: () => void): void {
    this.#sendFrame(this.#others, parts, written);
  }

  whenWritten(frame: Uint8Array, done: () => void): void {
    this.#writes.watch(frame, done);
  }

  isOwnedFrame(): boolean {
    return true;
  }

  releaseFrame(frame: Uint8Array): void {
    const held = this.#views.get(frame);
    if (held === undefined) return this.#links.releaseFrame(frame);
    this.#views.delete(frame);
    const peer = this.#peers[held.peer];
    if (peer === undefined || this.#closed) return;
    peer.held[held.slot] = 0;
    this.#releases[held.peer]!.push(held.slot);
    if (!this.#releaseScheduled) {
      this.#releaseScheduled = true;
      queueMicrotask(() => this.#flushReleases());
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#links.close();
    // Note [unmapped when closed]: the all-reduce is closed with this transport, so no view is read any more.
    this.#segment?.close();
    const mapper = this.#mapper;
    if (!('reason' in mapper)) for (const peer of this.#peers) if (peer !== undefined) mapper.unmap(peer.buffer);
    this.#views.clear();
    this.#writes.clear();
    this.#peers.fill(undefined);
  }

  // ---- sending ----------------------------------------------------------------------------------------------

  /** `parts` (one frame) to every rank in `peers`: through one slot for those that mapped this rank's segment, over the links for the rest. */
  #sendFrame(peers: readonly number[], parts: readonly Uint8Array[], written: (() => void) | undefined): void {
    if (this.#closed || this.failure !== undefined) {
      if (written !== undefined) queueMicrotask(written);
      return;
    }
    // Every peer gets the offer with this rank's first frame, whoever that frame is for: a small vector may give
    // some pair of ranks nothing to exchange for a while, and the answer should be back before they do.
    if (!this.#offeredAll) this.#offerAll();
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    let inline: readonly number[] = peers;
    const slots = this.#slots;
    if (slots !== undefined && bytes <= SLOT_BYTES && peers.some((k) => this.#answered[k] === 1)) {
      const slot = slots.take();
      if (slot === undefined) this.sent.noSlot += peers.length;
      else if (!this.#reserve(slot, bytes)) {
        slots.giveBack(slot);
        this.sent.noRoom += peers.length;
      } else {
        this.#copyIntoSlot(slot, parts);
        const viaLinks: number[] = [];
        inline = viaLinks;
        const notice = encodeSlot(slot, bytes);
        for (const k of peers) {
          if (this.#answered[k] !== 1) {
            viaLinks.push(k);
            continue;
          }
          slots.lend(slot, k);
          this.#links.sendTo(k, [notice]);
          this.sent.memory++;
        }
      }
    }
    // The copy is done now: the caller's bytes are free once the inline sends (if any) are written too.
    let left = inline.length + 1;
    const one = written === undefined ? undefined : (): void => {
      if (--left === 0) written();
    };
    for (const k of inline) {
      this.#links.sendTo(k, parts, one);
      this.sent.links++;
    }
    if (one !== undefined) queueMicrotask(one);
  }

  /** Whether the first `bytes` of `slot` are reserved in the file, reserving them now if needed (Note [reserve before writing]). */
  #reserve(slot: number, bytes: number): boolean {
    const reserved = this.#reserved!;
    if (reserved[slot]! >= bytes) return true;
    // Whole slots: one call per slot in the common case (1 MiB pieces), and never a partly reserved page.
    const want = bytes > 4096 ? SLOT_BYTES : 4096;
    if (!this.#segment!.reserve(SEGMENT_HEADER_BYTES + slot * SLOT_BYTES, want)) return false;
    reserved[slot] = want;
    return true;
  }

  #copyIntoSlot(slot: number, parts: readonly Uint8Array[]): void {
    const buffer = this.#segment!.buffer;
    let at = SEGMENT_HEADER_BYTES + slot * SLOT_BYTES;
    const { copy } = bulkFloats();
    for (const part of parts) {
      // Values (4-byte aligned, whole floats) with the native memmove (Note [shared memory copies]); headers with set.
      if (part.length >= 4096 && part.length % 4 === 0 && part.byteOffset % 4 === 0 && at % 4 === 0) {
        copy(new Float32Array(buffer, at, part.length / 4), new Float32Array(part.buffer, part.byteOffset, part.length / 4));
      } else {
        new Uint8Array(buffer, at, part.length).set(part);
      }
      at += part.length;
    }
  }

  /** Sends this rank's offer to every peer, before anything else this rank sends them. */
  #offerAll(): void {
    this.#offeredAll = true;
    const segment = this.#segment;
    if (segment === undefined) return;
    const offer = encodeOffer(this.#slotCount, SLOT_BYTES, segment.nonce, this.#hostKey, segment.name);
    for (const k of this.#others) this.#links.sendTo(k, [offer]);
  }

  #flushReleases(): void {
    this.#releaseScheduled = false;
    if (this.#closed) return;
    for (let k = 0; k < this.#worldSize; k++) {
      const slots = this.#releases[k]!;
      if (slots.length === 0) continue;
      this.#links.sendTo(k, [encodeRelease(slots)]);
      slots.length = 0;
    }
  }

  // ---- receiving --------------------------------------------------------------------------------------------

  #onLinkFrame(data: Uint8Array, family: 'rs' | 'ag' | undefined, owner: number | undefined, senderRank: number | undefined, label: string): void {
    // After a broken protocol nothing more is taken from any peer: the generation is over (see the note).
    if (this.#closed || this.#failure !== undefined) return this.#links.releaseFrame(data);
    const sink = this.#sink!;
    if (senderRank === undefined || !isControlMessage(data)) return sink.onFrame(data, family, owner, senderRank, label);
    const message = decodeControl(data);
    this.#links.releaseFrame(data);
    if ('malformed' in message) return this.#violation(senderRank, message.malformed);
    switch (message.kind) {
      case 'offer':
        return this.#onOffer(senderRank, message);
      case 'answer': {
        if (!this.#offeredAll || this.#segment === undefined || this.#answered[senderRank] !== 0) return this.#violation(senderRank, 'an answer to no offer');
        this.#answered[senderRank] = message.mapped ? 1 : 2;
        // Note [a segment per rank and generation]: once every peer has answered, the name is no longer needed.
        if (++this.#answers === this.#worldSize - 1) {
          this.#segment.unlink();
          this.#onPeerPaths?.(this.peerPaths());
        }
        return;
      }
      case 'slot': {
        const peer = this.#peers[senderRank];
        if (peer === undefined) return this.#violation(senderRank, 'a slot notice without a mapped segment');
        const { slot, length } = message;
        if (slot >= peer.slotCount || length < 1 || length > peer.slotBytes) return this.#violation(senderRank, `slot ${slot} of ${length} bytes is outside its ${peer.slotCount} slots of ${peer.slotBytes} bytes`);
        if (peer.held[slot] === 1) return this.#violation(senderRank, `slot ${slot} reused before this rank released it`);
        peer.held[slot] = 1;
        const view = new Uint8Array(peer.buffer, SEGMENT_HEADER_BYTES + slot * peer.slotBytes, length);
        this.#views.set(view, { peer: senderRank, slot });
        return sink.onFrame(view, undefined, undefined, senderRank, label);
      }
      case 'release': {
        const slots = this.#slots;
        if (slots === undefined) return this.#violation(senderRank, 'a release with no segment here');
        for (const slot of message.slots) if (!slots.release(slot, senderRank)) return this.#violation(senderRank, `a release of slot ${slot}, which it was not reading`);
        return;
      }
    }
  }

  #onOffer(peer: number, offer: { slotCount: number; slotBytes: number; nonce: Uint8Array; hostKey: Uint8Array; name: string }): void {
    if (this.#peers[peer] !== undefined || this.#refusals[peer] !== undefined) return this.#violation(peer, 'a second offer');
    const { slotCount, slotBytes } = offer;
    if (slotCount < 1 || slotCount > MAX_SLOTS || slotBytes < 64 || slotBytes % 64 !== 0 || slotBytes > this.#links.maxFrameBytes) {
      return this.#violation(peer, `an offer of ${slotCount} slots of ${slotBytes} bytes`);
    }
    const reason = this.#mapPeer(peer, offer);
    this.#refusals[peer] = reason;
    this.#links.sendTo(peer, [encodeAnswer(reason === undefined)]);
  }

  /** Maps the peer's segment; returns why not (different host, no addon, the file is not the one announced). */
  #mapPeer(peer: number, offer: { slotCount: number; slotBytes: number; nonce: Uint8Array; hostKey: Uint8Array; name: string }): string | undefined {
    if (!offer.hostKey.every((b, i) => b === this.#hostKey[i])) return 'another host (Note [same host])';
    if ('reason' in this.#mapper) return this.#mapper.reason;
    const mapped = openPeerSegment(offer.name, SEGMENT_HEADER_BYTES + offer.slotCount * offer.slotBytes, offer.nonce, this.#mapper, this.#segmentDir);
    if (!(mapped instanceof ArrayBuffer)) return mapped.reason;
    this.#peers[peer] = { buffer: mapped, slotCount: offer.slotCount, slotBytes: offer.slotBytes, held: new Uint8Array(offer.slotCount) };
    return undefined;
  }

  /** A peer broke the shared-memory protocol: the generation's data path ends (see the note). */
  #violation(peer: number, what: string): void {
    if (this.#failure !== undefined || this.#closed) return;
    this.#failure = new ConnectionInterrupted(`rank ${this.#rank}: rank ${peer} broke the shared-memory protocol: ${what}`, {
      rank: peer,
      hint: 'do all workers run the same gradmesh version? the coordinator forms a new generation',
    });
    this.#sink?.onLost(this.#failure);
  }
}

/**
 * The direct links with pieces through shared memory between ranks of one host (the default), or the links alone
 * with `GRADMESH_SHARED_MEMORY=off` (as NCCL_SHM_DISABLE=1 turns NCCL's off: to compare, or to rule it out).
 */
export function overSharedMemory(links: DirectPieceTransport, rank: number, worldSize: number, onPeerPaths?: (paths: readonly PeerPath[]) => void): PieceTransport {
  if (worldSize < 2) return links;
  if (process.env['GRADMESH_SHARED_MEMORY'] === 'off') {
    const why = 'turned off by GRADMESH_SHARED_MEMORY=off';
    onPeerPaths?.(Array.from({ length: worldSize }, (_, peer) => peer).filter((peer) => peer !== rank).map((peer) => ({ peer, path: 'links' as const, why })));
    return links;
  }
  return new SharedMemoryPieceTransport({ links, rank, worldSize, ...(onPeerPaths === undefined ? {} : { onPeerPaths }) });
}

/** One line for a worker's log: which peers its frames reach through memory, which over links, and why. */
export function describePeerPaths(rank: number, paths: readonly PeerPath[]): string {
  const memory = paths.filter((p) => p.path === 'memory').map((p) => p.peer);
  const links = paths.filter((p) => p.path === 'links');
  const parts: string[] = [];
  if (memory.length > 0) parts.push(`to rank${memory.length > 1 ? 's' : ''} ${memory.join(', ')} through shared memory (same host)`);
  const whys = new Map<string, number[]>();
  for (const p of links) whys.set(p.why ?? 'unknown', [...(whys.get(p.why ?? 'unknown') ?? []), p.peer]);
  for (const [why, peers] of whys) parts.push(`to rank${peers.length > 1 ? 's' : ''} ${peers.join(', ')} over the links (${why})`);
  return `rank ${rank} sends pieces ${parts.join('; ')}`;
}
