import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DropCounter } from '@gradmesh/shared/internal';

/**
 * A replica's state sent to the workers joining a generation, over the run's state-transfer subject: the
 * encoded state (shared/src/train/replica-state.ts — the checkpoint format, whose sha256 the receiver
 * verifies) cut into chunks below the server's max_payload, each behind a 24-byte little-endian header:
 *   u32 magic "GMST" · u32 generation · u32 chunk index · u32 chunk count · u32 total bytes · u32 offset.
 * Receivers are subscribed (and flushed) before they report `ready`, and the donor publishes only when the
 * coordinator asks (`shareState`), so no chunk can precede its receiver's subscription.
 */
const MAGIC = 0x54534d47; // "GMST" read as little-endian u32
const HEADER_BYTES = 24;

/** Publishes `state` in chunks; returns the number of chunks. */
export function publishState(nc: NatsConnection, subject: string, generation: number, state: Uint8Array): number {
  const chunkBytes = Math.max(1024, (nc.info?.max_payload ?? 1024 * 1024) - HEADER_BYTES - 1024);
  const count = Math.max(1, Math.ceil(state.length / chunkBytes));
  for (let index = 0; index < count; index++) {
    const body = state.subarray(index * chunkBytes, Math.min(state.length, (index + 1) * chunkBytes));
    const frame = new Uint8Array(HEADER_BYTES + body.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, generation, true);
    view.setUint32(8, index, true);
    view.setUint32(12, count, true);
    view.setUint32(16, state.length, true);
    view.setUint32(20, index * chunkBytes, true);
    frame.set(body, HEADER_BYTES);
    nc.publish(subject, frame);
  }
  return count;
}

/**
 * Collects one generation's state from its chunks. A chunk of another generation, a malformed header, a
 * total larger than `maxBytes` (derived from the model's size: no peer can make this process allocate
 * more) or a chunk that disagrees with the first one's count or total is dropped and counted.
 */
export class StateReceiver {
  readonly #sub: Subscription;
  readonly #generation: number;
  readonly #maxBytes: number;
  readonly #drops: DropCounter;
  #buffer: Uint8Array | undefined;
  #count = 0;
  #received = new Set<number>();
  #resolve!: (bytes: Uint8Array) => void;
  readonly done: Promise<Uint8Array>;

  constructor(nc: NatsConnection, subject: string, generation: number, maxBytes: number, drops: DropCounter) {
    this.#generation = generation;
    this.#maxBytes = maxBytes;
    this.#drops = drops;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#sub = nc.subscribe(subject, { callback: (err, msg) => {
        if (err === null) this.#onChunk(msg.data);
      },
    });
  }

  close(): void {
    this.#sub.unsubscribe();
  }

  #onChunk(frame: Uint8Array): void {
    if (frame.length < HEADER_BYTES) return this.#drops.drop('state', 'malformed', `a state chunk of ${frame.length} bytes`);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const [magic, generation, index, count, total, offset] = [0, 4, 8, 12, 16, 20].map((at) => view.getUint32(at, true)) as [number, number, number, number, number, number];
    if (magic !== MAGIC) return this.#drops.drop('state', 'malformed', 'a state chunk without the GMST header');
    if (generation !== this.#generation) return this.#drops.drop('state', 'foreign-generation', `a state chunk of generation ${generation}, this worker waits for ${this.#generation}`);
    if (total > this.#maxBytes || count < 1 || index >= count || count > total + 1) return this.#drops.drop('state', 'malformed', `a state chunk ${index}/${count} of ${total} bytes (at most ${this.#maxBytes} expected)`);
    if (this.#buffer === undefined) {
      this.#buffer = new Uint8Array(total);
      this.#count = count;
    } else if (total !== this.#buffer.length || count !== this.#count) {
      return this.#drops.drop('state', 'malformed', `a state chunk of a ${total}-byte state in ${count} chunks, the first said ${this.#buffer.length} in ${this.#count}`);
    }
    if (this.#received.has(index)) return this.#drops.drop('state', 'duplicate', `state chunk ${index} again`);
    const body = frame.subarray(HEADER_BYTES);
    const at = offset;
    if (at + body.length > total) return this.#drops.drop('state', 'malformed', `state chunk ${index} overruns the state`);
    this.#buffer.set(body, at);
    this.#received.add(index);
    if (this.#received.size === this.#count) {
      this.close();
      this.#resolve(this.#buffer);
    }
  }
}
