import { connect, createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  ACCEPTOR_HELLO_BYTES,
  decodeAcceptorHello,
  encodeDialerHello,
  linkMac,
  newNonce,
  type LinkHelloFields,
} from '../../../transport/src/direct-links/handshake.js';
import type { LinkIdentity } from '../../../transport/src/direct-links/link-identity.js';
import { PeerListener, type PeerListenerOptions } from '../../../transport/src/direct-links/peer-listener.js';
import type { IncomingLink } from '../../../transport/src/direct-links/incoming-link.js';

/** What the direct-link tests share: identities of one generation, a listener that records, and a raw dialer. */

export function identities(worldSize: number, generation = 1, runId = 'run-a', secret: Uint8Array = randomBytes(32)): LinkIdentity[] {
  return Array.from({ length: worldSize }, (_, rank) => ({ runId, generation, rank, worldSize, secret }));
}

export interface RecordingListener {
  readonly listener: PeerListener;
  readonly log: string[];
  readonly links: IncomingLink[];
}

export async function openListener(options: Partial<PeerListenerOptions> = {}): Promise<RecordingListener> {
  const log: string[] = [];
  const listener = await PeerListener.open({ host: '127.0.0.1', logger: (line) => log.push(line), ...options });
  return { listener, log, links: [] };
}

/** Resolves when `predicate` holds (checked every 5 ms), or rejects after `ms` naming `what`. */
export async function until(what: string, predicate: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port nothing listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A dialer that speaks the handshake by hand, so tests can forge what a real dialPeer never sends. `macFields` and
 * `secret` default to the hello's own fields and the identity's secret (a correct MAC).
 */
export class RawDialer {
  readonly socket: Socket;
  readonly received: Buffer[] = [];
  ended = false;
  #acceptorNonce: Uint8Array | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.received.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.ended = true));
  }

  static async connect(address: string): Promise<RawDialer> {
    const [host, port] = address.split(':');
    const socket = connect({ host: host!, port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawDialer(socket);
  }

  bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  async acceptorNonce(): Promise<Uint8Array> {
    await until('the acceptor hello', () => this.bytes().byteLength >= ACCEPTOR_HELLO_BYTES);
    const hello = decodeAcceptorHello(this.bytes().subarray(0, ACCEPTOR_HELLO_BYTES));
    if ('problem' in hello) throw new Error(hello.problem);
    this.#acceptorNonce = hello.nonce;
    return hello.nonce;
  }

  /** Sends a dialer hello for `fields`, MACed with `secret` (and over `macFields` when forging a mismatch), plus `extra` bytes. */
  async hello(fields: LinkHelloFields, secret: Uint8Array, options: { macFields?: LinkHelloFields; extra?: Uint8Array } = {}): Promise<void> {
    const acceptorNonce = this.#acceptorNonce ?? (await this.acceptorNonce());
    const dialerNonce = newNonce();
    const mac = linkMac(secret, 'dialer', options.macFields ?? fields, acceptorNonce, dialerNonce);
    const hello = encodeDialerHello(fields, dialerNonce, mac);
    this.socket.write(options.extra === undefined ? hello : Buffer.concat([hello, options.extra]));
  }

  /** The acceptor's status byte (after its hello), once it arrived. */
  async status(): Promise<number> {
    await until('the acceptor reply', () => this.bytes().byteLength > ACCEPTOR_HELLO_BYTES || this.ended);
    const b = this.bytes();
    return b.byteLength > ACCEPTOR_HELLO_BYTES ? b[ACCEPTOR_HELLO_BYTES]! : -1;
  }
}

/** One frame's wire bytes: u32 LE length + payload. */
export function wireFrame(payload: Uint8Array, length = payload.byteLength): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(length, 0);
  return Buffer.concat([header, payload]);
}
