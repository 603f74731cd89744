import { hkdfSync } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import type { LinkHelloFields } from './handshake.js';

/** How a link's frames travel after the handshake: as they are, or inside TLS keyed from the handshake. */
export type LinkEncryption = 'none' | 'tls';

/**
 * Note [encrypted links]
 * The handshake (Note [link handshake]) proves that both ends hold the generation's secret, but the frames after
 * it travel in the clear: anyone on the path can read gradients and, on a network they control, change them. With
 * `encryption: 'tls'` both ends then turn the same socket into TLS 1.2 with a pre-shared key (RFC 4279), so every
 * frame is encrypted and authenticated (AEAD: ChaCha20-Poly1305 after an ephemeral ECDH exchange, or AES-GCM),
 * the way Gloo's TCP_TLS transport protects PyTorch's CPU collectives — without certificates, since the ranks
 * already share a secret:
 *   key = HKDF-SHA256(secret, salt = acceptorNonce ‖ dialerNonce, info = label ‖ run ‖ generation ‖ from ‖ to),
 * fresh for every connection (both nonces are), bound to both ranks and the direction. The mode is part of the
 * handshake MAC's label, so a plain dialer and a TLS acceptor (or the reverse) fail the handshake as a wrong MAC
 * instead of misreading each other's bytes. TLS 1.3 would be preferable, but Node's PSK support is TLS 1.2 only;
 * the PSK suites here are AEAD and the first one has forward secrecy. The keys are only as secret as the
 * generation's secret, which reaches the workers in their assignment over NATS: an encrypted run needs a NATS
 * connection secured with TLS as well.
 */
export const LINK_TLS_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305:PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256';
const KEY_LABEL = 'gradmesh-link-tls-v1';
const TLS_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

/** The TLS pre-shared key of one connection (Note [encrypted links]). */
export function linkTlsKey(secret: Uint8Array, fields: LinkHelloFields, acceptorNonce: Uint8Array, dialerNonce: Uint8Array): Buffer {
  const info = Buffer.concat([Buffer.from(`${KEY_LABEL}\0${fields.runId}\0`, 'utf8'), u32s(fields.generation, fields.fromRank, fields.toRank)]);
  return Buffer.from(hkdfSync('sha256', secret, Buffer.concat([acceptorNonce, dialerNonce]), info, 32));
}

/** The PSK identity a connection announces (in clear): its dialer nonce, which the acceptor knows it by. */
export function pskIdentity(dialerNonce: Uint8Array): string {
  return Buffer.from(dialerNonce).toString('hex');
}

/** The dialer's end: TLS over `socket` once the handshake passed; rejects when TLS fails or `timeoutMs` passes. */
export function secureDialerSocket(socket: Socket, key: Buffer, identity: string, timeoutMs: number, signal?: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({
      socket,
      ciphers: LINK_TLS_CIPHERS,
      ...TLS_VERSIONS,
      // The peer proves the key, not a certificate: no server identity to check.
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: key, identity }),
    });
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      secure.off('secureConnect', onSecure);
      secure.off('error', settle);
      secure.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve(secure);
      secure.destroy();
      reject(error);
    };
    const onSecure = (): void => settle();
    const onClose = (): void => settle(new Error('the peer closed the connection during the TLS handshake'));
    const onAbort = (): void => settle(new Error('abandoned during the TLS handshake'));
    const timer = setTimeout(() => settle(new Error(`no TLS session within ${timeoutMs} ms`)), Math.max(timeoutMs, 1));
    secure.once('secureConnect', onSecure);
    secure.once('error', settle);
    secure.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface PendingSession {
  readonly key: Buffer;
  readonly resolve: (secure: TLSSocket) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The acceptors' end, one per listener. Accepted sockets are handed to a `tls.Server` that never listens
 * (`emit('connection', socket)`, the public way to serve a socket accepted elsewhere): a TLSSocket made by hand in
 * server mode keeps its errors to itself after the handshake (Node releases their "control" only for sockets a
 * tls.Server made), so a record that fails its MAC would stall the link instead of closing it. Each pending
 * session is found by the PSK identity its dialer announces (pskIdentity), and gets the key of its own handshake.
 */
export class LinkTlsAcceptor {
  readonly #server: Server;
  readonly #pending = new Map<string, PendingSession>();
  readonly #sessions = new WeakMap<TLSSocket, PendingSession>();

  constructor() {
    this.#server = createTlsServer({
      ciphers: LINK_TLS_CIPHERS,
      ...TLS_VERSIONS,
      pskCallback: (secure: TLSSocket, identity: string) => {
        const session = this.#pending.get(identity);
        if (session === undefined) return null;
        this.#pending.delete(identity);
        this.#sessions.set(secure, session);
        return session.key;
      },
    } as Parameters<typeof createTlsServer>[0]);
    this.#server.on('secureConnection', (secure: TLSSocket) => this.#sessions.get(secure)?.resolve(secure));
    this.#server.on('tlsClientError', (error: Error, secure: TLSSocket) => this.#sessions.get(secure)?.reject(error));
  }

  /** TLS over `socket` for the dialer that announces `identity`, with `key`; rejects when TLS fails or `timeoutMs` passes. */
  secure(socket: Socket, identity: string, key: Buffer, timeoutMs: number): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, secure?: TLSSocket): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('close', onClose);
        if (this.#pending.get(identity) === session) this.#pending.delete(identity);
        if (error === undefined) return resolve(secure!);
        socket.destroy();
        reject(error);
      };
      const session: PendingSession = { key, resolve: (secure) => settle(undefined, secure), reject: (error) => settle(error) };
      const onClose = (): void => settle(new Error('the peer closed the connection during the TLS handshake'));
      const timer = setTimeout(() => settle(new Error(`no TLS session within ${timeoutMs} ms`)), Math.max(timeoutMs, 1));
      this.#pending.set(identity, session);
      socket.once('close', onClose);
      this.#server.emit('connection', socket);
    });
  }
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v, 4 * i));
  return b;
}
