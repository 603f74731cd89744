import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeControl,
  DropCounter,
  encodeControl,
  MessageRejectedError,
  PROTOCOL_VERSION,
  type ControlMessage,
  type MessageBodies,
  type MessageKind,
} from '@gradmesh/shared/internal';

export type ControlHandler = (message: ControlMessage, subject: string) => void;

/** Which generations a listener accepts; a message of another generation is counted as `foreign-generation`. */
export type GenerationFilter = (message: ControlMessage) => boolean;

/**
 * A process's view of a run's control subjects: every received message is decoded and validated with
 * `decodeControl`; a rejected one (garbage, another run, another protocol version, a kind on the wrong
 * subject, another generation) is counted in `drops` — logged once per (kind, reason) — and goes no further.
 * Nothing a peer sends can crash the process or reach a handler unvalidated.
 *
 * Handlers run synchronously in the NATS callback; a handler that throws is a bug of ours, not of the peer,
 * and is passed to `onHandlerError` (the owner stops the run) instead of being swallowed.
 */
export class ControlChannel {
  readonly drops: DropCounter;
  readonly #nc: NatsConnection;
  readonly #runId: string;
  readonly #self: string;
  readonly #subs: Subscription[] = [];
  readonly #onHandlerError: (error: unknown) => void;
  /** The generation stamped on outgoing messages (0 until the process is assigned one). */
  generation = 0;

  constructor(options: { nc: NatsConnection; runId: string; self: string; drops: DropCounter; onHandlerError: (error: unknown) => void }) {
    this.#nc = options.nc;
    this.#runId = options.runId;
    this.#self = options.self;
    this.drops = options.drops;
    this.#onHandlerError = options.onHandlerError;
  }

  listen(subject: string, handler: ControlHandler, accepts: GenerationFilter = () => true): void {
    const expected = { run: this.#runId, version: PROTOCOL_VERSION };
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return; // the subscription is closing; the connection watcher reports why
        let message: ControlMessage;
        try {
          message = decodeControl(msg.subject, msg.data, expected);
        } catch (error) {
          if (error instanceof MessageRejectedError) this.drops.dropError(error);
          else this.drops.drop('unknown', 'malformed', (error as Error).message);
          return;
        }
        if (!accepts(message)) {
          this.drops.drop(message.kind, 'foreign-generation', `${msg.subject} from ${message.from}: generation ${message.gen}, this process is in generation ${this.generation}`);
          return;
        }
        try {
          handler(message, msg.subject);
        } catch (error) {
          this.#onHandlerError(error);
        }
      },
    });
    this.#subs.push(sub);
  }

  /** Encodes (validating the body, so a bug of ours fails here, not as a silent drop elsewhere) and publishes. */
  send<K extends MessageKind>(subject: string, kind: K, body: MessageBodies[K]): void {
    if (this.#nc.isClosed()) return;
    this.#nc.publish(subject, encodeControl({ run: this.#runId, kind, from: this.#self, gen: this.generation, body }));
  }

  /** Waits until the server has seen everything published and subscribed so far, at most `timeoutMs`. */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.#nc.isClosed()) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.#nc.flush().then(() => true, () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    for (const sub of this.#subs.splice(0)) sub.unsubscribe();
  }
}
