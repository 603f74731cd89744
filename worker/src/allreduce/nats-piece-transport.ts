import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ClusterError } from '@gradmesh/shared/internal';
import { allGatherSubject, ANY_SENDER, reduceScatterSubject, subjectSender } from '@gradmesh/shared/internal';
import { directWritesInstalled, isRecycledPayload, publishParts, releasePayload, whenWritten } from '@gradmesh/transport';
import { ConnectionInterrupted } from './connection-interrupted.js';
import type { PieceSink, PieceTransport } from './piece-transport.js';

const DEFAULT_MAX_PAYLOAD = 1 << 20;
const DEFAULT_MAX_PENDING = 64 << 20;

export interface NatsPieceTransportOptions {
  readonly nc: NatsConnection;
  readonly runId: string;
  readonly rank: number;
  /** The worker id of each rank (members[rank]). */
  readonly members: readonly string[];
  /** The server's max_pending (nats-server default 64 MiB). */
  readonly maxPendingBytes?: number;
}

/**
 * Pieces through nats-server (Note [two paths for the same pieces] in piece-transport.ts): reduce-scatter frames
 * on `rs.<owner>.<sender>`, reduced pieces on `ag.<owner>.<owner's id>`, one subscription per subject family and
 * owner, made once. The sender's worker id is the subject's last token (Note [the sender is in the subject]).
 */
export class NatsPieceTransport implements PieceTransport {
  readonly maxFrameBytes: number;
  readonly maxPendingBytes: number;
  readonly sendsViews: boolean;
  readonly #nc: NatsConnection;
  readonly #runId: string;
  readonly #rank: number;
  readonly #members: readonly string[];
  readonly #rankOf: Map<string, number>;
  readonly #rsSubjects: readonly string[];
  readonly #agSubject: string;
  readonly #subs: Subscription[] = [];
  #statusIterator: { stop?: () => void } | undefined;
  #closed = false;

  constructor(options: NatsPieceTransportOptions) {
    this.#nc = options.nc;
    this.#runId = options.runId;
    this.#rank = options.rank;
    this.#members = options.members;
    this.#rankOf = new Map(options.members.map((m, k) => [m, k]));
    this.maxFrameBytes = options.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING;
    this.sendsViews = directWritesInstalled(options.nc);
    const self = options.members[options.rank]!;
    this.#rsSubjects = options.members.map((_, owner) => reduceScatterSubject(options.runId, owner, self));
    this.#agSubject = allGatherSubject(options.runId, options.rank, self);
  }

  open(sink: PieceSink): void {
    const n = this.#members.length;
    if (n < 2) return;
    // Any rank's pieces of our chunk (the sender token is checked per frame); each owner's reduced pieces only from that owner.
    this.#subscribe(sink, reduceScatterSubject(this.#runId, this.#rank, ANY_SENDER), 'rs', this.#rank);
    for (let c = 0; c < n; c++) if (c !== this.#rank) this.#subscribe(sink, allGatherSubject(this.#runId, c, this.#members[c]!), 'ag', c);
    this.#watchConnection(sink);
  }

  sendToOwner(owner: number, parts: readonly Uint8Array[]): void {
    const subject = this.#rsSubjects[owner]!;
    if (parts.length === 1) this.#nc.publish(subject, parts[0]);
    else publishParts(this.#nc, subject, parts);
  }

  sendToAll(frame: Uint8Array): void {
    this.#nc.publish(this.#agSubject, frame);
  }

  whenWritten(frame: Uint8Array, done: () => void): void {
    whenWritten(this.#nc, frame, done);
  }

  isOwnedFrame(frame: Uint8Array): boolean {
    return isRecycledPayload(frame);
  }

  releaseFrame(frame: Uint8Array): void {
    releasePayload(frame);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statusIterator?.stop?.();
    for (const sub of this.#subs) sub.unsubscribe();
  }

  #subscribe(sink: PieceSink, subject: string, family: 'rs' | 'ag', owner: number): void {
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) {
          sink.onLost(new ClusterError(`subscription ${subject} failed on rank ${this.#rank}: ${err.message}`, { rank: this.#rank, cause: err }));
          return;
        }
        sink.onFrame(msg.data, family, owner, this.#rankOf.get(subjectSender(msg.subject)), msg.subject);
      },
    });
    this.#subs.push(sub);
  }

  /**
   * Core NATS drops messages in flight across a reconnect, so a disconnect fails the running step at once
   * (instead of after the timeout); a closed connection fails it too.
   */
  #watchConnection(sink: PieceSink): void {
    const iterator = this.#nc.status();
    this.#statusIterator = iterator as { stop?: () => void };
    void (async () => {
      for await (const status of iterator) {
        if (this.#closed) break;
        if (status.type !== 'disconnect' && status.type !== 'close') continue;
        sink.onLost(new ConnectionInterrupted(`NATS connection of rank ${this.#rank} was lost (${status.type}); messages in flight are gone`, { rank: this.#rank }));
      }
    })().catch(() => undefined);
    void this.#nc.closed().then(() => {
      if (!this.#closed) sink.onLost(new ClusterError(`NATS connection of rank ${this.#rank} closed`, { rank: this.#rank }));
    });
  }
}
