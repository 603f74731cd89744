import { createServer, type Server, type Socket } from 'node:net';
import { InternalError } from '@gradmesh/shared';
import {
  checkDialerHello,
  decodeDialerHello,
  DIALER_HELLO_PREFIX_BYTES,
  dialerHelloLength,
  encodeAcceptorHello,
  encodeAcceptorReply,
  HandshakeStatus,
  type DialerHello,
  type HandshakeStatusCode,
  linkMac,
  newNonce,
} from './handshake.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-reader.js';
import { type IncomingLink, SocketIncomingLink } from './incoming-link.js';
import { describeSocketError } from './link-close.js';
import { generationKey, identityProblem, type LinkIdentity } from './link-identity.js';
import { formatPeerAddress } from './peer-address.js';
import { checkUserBufferReads } from './user-buffer-reads.js';
import { LinkTlsAcceptor, linkTlsKey, pskIdentity } from './link-tls.js';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
export const DEFAULT_HOLD_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PENDING = 64;
/** Sockets still sending their hello at once; beyond it new ones are dropped (each holds a descriptor for up to the handshake timeout). */
const MAX_HANDSHAKING = 256;

/** Why the listener turned connections away, counted per kind (`PeerListener.stats`). */
export type RefusalKind =
  | 'bad-hello'
  | 'handshake-timeout'
  | 'too-many-handshakes'
  | 'too-many-pending'
  | 'unknown-generation'
  | 'stale-generation'
  | 'wrong-rank'
  | 'rank-out-of-range'
  | 'wrong-mac'
  | 'duplicate-rank'
  | 'tls-failed'
  | 'listener-closed';

export interface PeerListenerOptions {
  readonly host: string;
  /** 0 or absent: an ephemeral port. */
  readonly port?: number;
  /** Largest frame a peer may send (default 64 MiB); a longer length prefix closes the link. */
  readonly maxFrameBytes?: number;
  /** Where refusals and protocol violations are reported, one line each (default: stderr). */
  readonly logger?: (line: string) => void;
  /** How long a connection may take to send its hello (default 5 s). */
  readonly handshakeTimeoutMs?: number;
  /** How long a connection for a generation not registered yet is held (default 10 s). */
  readonly holdTimeoutMs?: number;
  /** Connections held at once for generations not registered yet (default 64). */
  readonly maxPending?: number;
}

interface Registration {
  readonly identity: LinkIdentity;
  readonly onLink: (link: IncomingLink) => void;
  /** Ranks that completed a handshake in this generation: one link each, ever. */
  readonly linkedRanks: Set<number>;
}

/** A connection whose hello arrived for a (run, generation) not registered yet, waiting for accept(). */
interface HeldConnection {
  readonly socket: Socket;
  readonly peer: string;
  readonly hello: DialerHello;
  readonly acceptorNonce: Uint8Array;
  /** Stops the hold's timer and socket listeners. */
  readonly unwatch: () => void;
}

/**
 * Note [held connections]
 * Ranks learn their assignment at slightly different moments, so a fast rank may dial a peer whose worker has not
 * yet registered the new generation. Refusing would make the dialer retry blindly; instead the listener keeps the
 * connection with its parsed hello (bounded: maxPending of them, holdTimeoutMs each) and checks it the moment
 * accept() registers that generation. A generation that was unregistered, or is older than one registered for the
 * same run, will never be registered again: its connections are refused at once. A connection whose hold expires is
 * refused as not registered *yet*, which dialPeer retries until its own timeout: the peer may be slow to start.
 */
export class PeerListener {
  /** What peers dial: "host:port" (IPv6 as "[::1]:port"). */
  readonly address: string;
  readonly #server: Server;
  readonly #maxFrameBytes: number;
  readonly #log: (line: string) => void;
  readonly #handshakeTimeoutMs: number;
  readonly #holdTimeoutMs: number;
  readonly #maxPending: number;
  readonly #registrations = new Map<string, Registration>();
  readonly #retired = new Set<string>();
  /** Highest generation registered per run: older unregistered ones are stale. */
  readonly #newestGeneration = new Map<string, number>();
  readonly #handshaking = new Set<Socket>();
  readonly #held = new Set<HeldConnection>();
  readonly #links = new Set<IncomingLink>();
  readonly #refused = new Map<RefusalKind, number>();
  /** Wraps accepted sockets in TLS for generations with encrypted links (made on first use). */
  #tls: LinkTlsAcceptor | undefined;
  #accepted = 0;
  #violations = 0;
  #closed = false;

  private constructor(server: Server, address: string, options: PeerListenerOptions) {
    this.#server = server;
    this.address = address;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const logger = options.logger ?? ((line: string) => process.stderr.write(`${line}\n`));
    // Called from socket events: a logger that throws must not take the process down.
    this.#log = (line) => {
      try {
        logger(line);
      } catch {
        // The line is lost; the count in stats() still records the event.
      }
    };
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#holdTimeoutMs = options.holdTimeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    server.on('connection', (socket) => this.#onConnection(socket));
    server.on('error', (err) => this.#log(`links: listener ${address}: ${describeSocketError(err)}`));
  }

  /** Listens on host:port (port 0 = ephemeral), binding only that host. */
  static async open(options: PeerListenerOptions): Promise<PeerListener> {
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > 0xffff_ffff) {
      throw new InternalError(`PeerListener: maxFrameBytes must be an integer in [1, 2^32) (got ${maxFrameBytes})`);
    }
    await checkUserBufferReads();
    const server = createServer({ noDelay: true });
    const address = await new Promise<string>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        const bound = server.address();
        if (bound === null || typeof bound === 'string') {
          server.close();
          reject(new InternalError(`PeerListener: ${options.host} did not bind a TCP port`));
          return;
        }
        resolve(formatPeerAddress(bound.address, bound.port));
      });
    });
    return new PeerListener(server, address, options);
  }

  /**
   * Accepts the incoming links of (identity.runId, identity.generation), authenticated with identity.secret, and
   * hands each to onLink once its handshake passed. Returns a function that stops accepting them (already handed
   * links stay). Connections that arrived for this generation before it was registered are checked now
   * (Note [held connections]).
   */
  accept(identity: LinkIdentity, onLink: (link: IncomingLink) => void): () => void {
    const problem = identityProblem(identity);
    if (problem !== undefined) throw new InternalError(`PeerListener.accept: ${problem}`);
    const key = generationKey(identity.runId, identity.generation);
    if (this.#closed) throw new InternalError(`PeerListener.accept: the listener at ${this.address} is closed`);
    if (this.#registrations.has(key)) throw new InternalError(`PeerListener.accept: run ${identity.runId} generation ${identity.generation} is registered already`);
    const registration: Registration = { identity, onLink, linkedRanks: new Set() };
    this.#registrations.set(key, registration);
    this.#retired.delete(key);
    const newest = this.#newestGeneration.get(identity.runId);
    if (newest === undefined || identity.generation > newest) this.#newestGeneration.set(identity.runId, identity.generation);
    for (const held of [...this.#held]) {
      const heldKey = generationKey(held.hello.runId, held.hello.generation);
      if (heldKey === key) this.#release(held, () => this.#decide(held.socket, held.peer, held.hello, held.acceptorNonce));
      else if (this.#isStale(held.hello)) this.#release(held, () => this.#refuse(held.socket, held.peer, 'stale-generation', HandshakeStatus.unknownGeneration, held.hello));
    }
    return () => {
      if (this.#registrations.get(key) !== registration) return;
      this.#registrations.delete(key);
      this.#retired.add(key);
    };
  }

  /** Connections accepted and refused (per kind) so far, and links closed over a protocol violation. */
  stats(): { accepted: number; refused: Partial<Record<RefusalKind, number>>; violations: number; held: number } {
    return { accepted: this.#accepted, refused: Object.fromEntries(this.#refused), violations: this.#violations, held: this.#held.size };
  }

  /** Stops listening, refuses held connections, drops half-done handshakes and closes every link it accepted. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const held of [...this.#held]) this.#release(held, () => this.#refuse(held.socket, held.peer, 'listener-closed', HandshakeStatus.unknownGeneration, held.hello));
    for (const socket of this.#handshaking) socket.destroy();
    this.#handshaking.clear();
    for (const link of this.#links) link.close();
    this.#links.clear();
    return stopped;
  }

  #onConnection(socket: Socket): void {
    const peer = formatPeerAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    // Errors are reported through 'close' below and the link's own handlers; an unhandled 'error' would crash.
    socket.on('error', () => undefined);
    if (this.#closed) {
      socket.destroy();
      return;
    }
    if (this.#handshaking.size >= MAX_HANDSHAKING) {
      this.#count('too-many-handshakes', `links: dropped connection from ${peer}: ${MAX_HANDSHAKING} handshakes in progress`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.#handshaking.add(socket);
    const acceptorNonce = newNonce();
    socket.write(encodeAcceptorHello(acceptorNonce));
    const chunks: Buffer[] = [];
    let received = 0;
    let expected: number | undefined;
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      this.#handshaking.delete(socket);
    };
    const timer = setTimeout(() => {
      done();
      this.#count('handshake-timeout', `links: refused connection from ${peer}: no complete hello within ${this.#handshakeTimeoutMs} ms (${received} bytes)`);
      socket.destroy();
    }, this.#handshakeTimeoutMs);
    const onClose = (): void => done();
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.byteLength;
      if (expected === undefined) {
        if (received < DIALER_HELLO_PREFIX_BYTES) return;
        const length = dialerHelloLength(Buffer.concat(chunks, received).subarray(0, DIALER_HELLO_PREFIX_BYTES));
        if ('problem' in length) {
          done();
          this.#count('bad-hello', `links: refused connection from ${peer}: ${length.problem}`);
          socket.destroy();
          return;
        }
        expected = length.length;
      }
      if (received < expected) return;
      done();
      if (received > expected) {
        this.#count('bad-hello', `links: refused connection from ${peer}: ${received - expected} bytes after the hello, before our reply`);
        socket.destroy();
        return;
      }
      const hello = decodeDialerHello(Buffer.concat(chunks, received));
      if ('problem' in hello) {
        this.#refuse(socket, peer, 'bad-hello', HandshakeStatus.badHello, undefined, hello.problem);
        return;
      }
      this.#decide(socket, peer, hello, acceptorNonce);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  }

  /** A complete hello: check it against its registration, hold it until one exists, or refuse a stale one. */
  #decide(socket: Socket, peer: string, hello: DialerHello, acceptorNonce: Uint8Array): void {
    if (socket.destroyed) return;
    const registration = this.#registrations.get(generationKey(hello.runId, hello.generation));
    if (registration === undefined) {
      if (this.#isStale(hello)) this.#refuse(socket, peer, 'stale-generation', HandshakeStatus.unknownGeneration, hello);
      else this.#hold(socket, peer, hello, acceptorNonce);
      return;
    }
    const status = checkDialerHello(hello, registration.identity, acceptorNonce, registration.linkedRanks);
    if (status !== HandshakeStatus.ok) {
      const kind: RefusalKind =
        status === HandshakeStatus.wrongRank ? 'wrong-rank' : status === HandshakeStatus.rankOutOfRange ? 'rank-out-of-range' : status === HandshakeStatus.wrongMac ? 'wrong-mac' : 'duplicate-rank';
      this.#refuse(socket, peer, kind, status, hello);
      return;
    }
    const { identity } = registration;
    registration.linkedRanks.add(hello.fromRank);
    socket.write(encodeAcceptorReply(HandshakeStatus.ok, linkMac(identity.secret, 'acceptor', hello, acceptorNonce, hello.dialerNonce, identity.encryption)));
    if (identity.encryption !== 'tls') return this.#link(socket, peer, hello, registration);
    // Note [encrypted links]: the frames come inside TLS keyed from this handshake.
    this.#handshaking.add(socket);
    this.#tls ??= new LinkTlsAcceptor();
    this.#tls.secure(socket, pskIdentity(hello.dialerNonce), linkTlsKey(identity.secret, hello, acceptorNonce, hello.dialerNonce), this.#handshakeTimeoutMs).then(
      (secure) => {
        this.#handshaking.delete(socket);
        if (this.#closed) return void secure.destroy();
        this.#link(secure, peer, hello, registration);
      },
      (err: unknown) => {
        this.#handshaking.delete(socket);
        if (this.#closed) return;
        this.#count('tls-failed', `links: closing the link from rank ${hello.fromRank} (${peer}): TLS: ${(err as Error).message}`);
        socket.destroy();
      },
    );
  }

  /** A connection that passed its handshake (and TLS, if the generation asks for it) becomes an incoming link. */
  #link(socket: Socket, peer: string, hello: DialerHello, registration: Registration): void {
    const link = new SocketIncomingLink(socket, hello.fromRank, peer, this.#maxFrameBytes, (reason) => {
      this.#violations += 1;
      this.#log(`links: closing link from rank ${hello.fromRank} (${peer}): protocol violation: ${reason}`);
    });
    this.#links.add(link);
    link.onClose(() => this.#links.delete(link));
    this.#accepted += 1;
    try {
      registration.onLink(link);
    } catch (err) {
      link.close();
      this.#log(`links: onLink threw for the link from rank ${hello.fromRank} (${peer}): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #isStale(hello: DialerHello): boolean {
    if (this.#retired.has(generationKey(hello.runId, hello.generation))) return true;
    const newest = this.#newestGeneration.get(hello.runId);
    return newest !== undefined && hello.generation < newest;
  }

  #hold(socket: Socket, peer: string, hello: DialerHello, acceptorNonce: Uint8Array): void {
    if (this.#held.size >= this.#maxPending) {
      this.#refuse(socket, peer, 'too-many-pending', HandshakeStatus.busy, hello);
      return;
    }
    const timer = setTimeout(() => this.#release(held, () => this.#refuse(socket, peer, 'unknown-generation', HandshakeStatus.notRegisteredYet, hello, `not registered within ${this.#holdTimeoutMs} ms`)), this.#holdTimeoutMs);
    const onData = (): void => this.#release(held, () => this.#refuse(socket, peer, 'bad-hello', HandshakeStatus.badHello, hello, 'data before our reply'));
    const onClose = (): void => this.#release(held, () => undefined);
    const held: HeldConnection = {
      socket,
      peer,
      hello,
      acceptorNonce,
      unwatch: () => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
      },
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    this.#held.add(held);
  }

  #release(held: HeldConnection, then: () => void): void {
    if (!this.#held.delete(held)) return;
    held.unwatch();
    then();
  }

  #refuse(socket: Socket, peer: string, kind: RefusalKind, status: HandshakeStatusCode, hello: DialerHello | undefined, detail?: string): void {
    const claimed = hello === undefined ? '' : ` (rank ${hello.fromRank} → ${hello.toRank}, run ${JSON.stringify(hello.runId)} generation ${hello.generation})`;
    this.#count(kind, `links: refused connection from ${peer}${claimed}: ${kind}${detail === undefined ? '' : `: ${detail}`}`);
    if (socket.destroyed) return;
    // The status byte tells the dialer why (Note [link handshake]); it has sent all it will, so closing after it is clean.
    socket.end(encodeAcceptorReply(status), () => socket.destroy());
  }

  #count(kind: RefusalKind, line: string): void {
    this.#refused.set(kind, (this.#refused.get(kind) ?? 0) + 1);
    this.#log(line);
  }
}
