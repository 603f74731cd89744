import { ProtocolError } from '../errors.js';

/**
 * Why a received message was dropped. Every network message that fails validation is dropped, counted under
 * (kind, reason) and logged once per pair — never a crash, never a hang (the all-reduce timeout and the
 * coordinator's heartbeats catch what is then missing).
 */
export type DropReason =
  | 'malformed' // not decodable, wrong sizes or types, out-of-range fields
  | 'version' // another protocol version
  | 'foreign-run' // another run id
  | 'foreign-generation' // another membership generation of this run
  | 'unknown-kind' // a message kind this build does not know
  | 'wrong-subject' // a known kind on a subject that does not carry it
  | 'wrong-sender' // a message that claims another sender than the identity its subject proves
  | 'stale-step' // a step this instance has already finished
  | 'out-of-bounds' // a step, rank or size outside what the run allows now (e.g. a step far ahead)
  | 'duplicate' // the same piece from the same source twice in one step
  | 'overflow'; // a buffer for early (future-step) messages is full

/** A ProtocolError that also says how to count the drop: the message kind (when known) and the reason. */
export class MessageRejectedError extends ProtocolError {
  readonly dropReason: DropReason;
  readonly kind: string;
  constructor(subject: string, dropReason: DropReason, kind: string, detail: string, options: { peer?: string; hint?: string } = {}) {
    super(subject, `${dropReason} ${kind} message: ${detail}`, options);
    this.dropReason = dropReason;
    this.kind = kind;
  }
}

export type DropLogger = (line: string) => void;

/**
 * Counts dropped messages per (kind, reason) and logs the first drop of each pair once, so a peer that
 * floods garbage costs a counter increment per message, not a log line.
 */
export class DropCounter {
  readonly #counts = new Map<string, number>();
  readonly #log: DropLogger;
  #total = 0;

  constructor(logger: DropLogger = (line) => console.warn(line)) {
    this.#log = logger;
  }

  /** Records one drop; the first of each (kind, reason) is logged with `detail` (e.g. the error message). */
  drop(kind: string, reason: DropReason, detail: string): void {
    const key = `${kind}/${reason}`;
    const n = this.#counts.get(key) ?? 0;
    this.#counts.set(key, n + 1);
    this.#total++;
    if (n === 0) this.#log(`gradmesh: dropped ${kind} message (${reason}): ${detail} — further drops of this kind are only counted`);
  }

  /** Records a rejected message from its error. */
  dropError(error: MessageRejectedError): void {
    this.drop(error.kind, error.dropReason, error.message);
  }

  /** Drops of one kind and reason; of one kind (any reason); or all drops. */
  count(kind?: string, reason?: DropReason): number {
    let total = 0;
    for (const [key, n] of this.#counts) {
      const [k, r] = key.split('/') as [string, string];
      if ((kind === undefined || k === kind) && (reason === undefined || r === reason)) total += n;
    }
    return total;
  }

  /** Every drop so far (it only grows, so a changed total says the snapshot changed). */
  get total(): number {
    return this.#total;
  }

  /** `{ "rs/stale-step": 3, … }` for reports. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
