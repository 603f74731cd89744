import { connect, type Socket } from 'node:net';
import { InternalError } from '@gradmesh/shared';
import {
  ACCEPTOR_HELLO_BYTES,
  ACCEPTOR_REPLY_OK_BYTES,
  decodeAcceptorHello,
  encodeDialerHello,
  HandshakeStatus,
  isTransientStatus,
  type LinkHelloFields,
  linkMac,
  MAC_BYTES,
  macsEqual,
  newNonce,
  statusText,
} from './handshake.js';
import { LinkError } from './link-error.js';
import { describeSocketError } from './link-close.js';
import { identityProblem, type LinkIdentity } from './link-identity.js';
import { type OutgoingLink, SocketOutgoingLink } from './outgoing-link.js';
import { parsePeerAddress } from './peer-address.js';
import { linkTlsKey, pskIdentity, secureDialerSocket, type LinkEncryption } from './link-tls.js';

/** Long enough to outlast the acceptor's hold of a generation it has not registered yet (10 s) plus a handshake. */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000;
const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 500;

/**
 * Dials `address`, runs the handshake as identity.rank → peerRank (Note [link handshake]) and resolves with the
 * sending end once the peer proved it holds the secret. Connection-refused, and a refusal because the peer has not
 * registered the generation yet (or holds too many such connections), are retried with backoff until timeoutMs,
 * which bounds the whole dial; every failure rejects with a LinkError naming the peer rank and address.
 * `signal` abandons the dial at once (its generation ended: retrying for the rest of the timeout would only hold
 * a socket and timers for nothing): the connection in progress is destroyed and the dial rejects.
 */
export async function dialPeer(address: string, identity: LinkIdentity, peerRank: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<OutgoingLink> {
  const problem = identityProblem(identity);
  if (problem !== undefined) throw new InternalError(`dialPeer: ${problem}`);
  if (!Number.isInteger(peerRank) || peerRank < 0 || peerRank >= identity.worldSize || peerRank === identity.rank) {
    throw new InternalError(`dialPeer: peer rank ${peerRank} is not another rank of a world of ${identity.worldSize} (own rank ${identity.rank})`);
  }
  const target = parsePeerAddress(address);
  if (target === undefined) throw new LinkError(peerRank, address, 'not a "host:port" address', { hint: 'IPv6 hosts go in brackets: "[::1]:7000"' });
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const signal = options.signal;
  const abandoned = (): LinkError => new LinkError(peerRank, address, `dial abandoned (${String(signal?.reason ?? 'aborted')})`, { hint: 'the generation the link was for has ended' });
  const fields: LinkHelloFields = { runId: identity.runId, generation: identity.generation, fromRank: identity.rank, toRank: peerRank };
  let delay = FIRST_RETRY_MS;
  const backOff = async (): Promise<boolean> => {
    const left = deadline - Date.now();
    if (left <= 0 || signal?.aborted) return false;
    await sleep(Math.min(delay, left), signal);
    delay = Math.min(delay * 2, MAX_RETRY_MS);
    return true;
  };
  for (;;) {
    if (signal?.aborted) throw abandoned();
    let socket: Socket;
    try {
      socket = await connectOnce(target.host, target.port, deadline - Date.now(), signal);
    } catch (err) {
      if (signal?.aborted) throw abandoned();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' && (await backOff())) continue;
      const why = code === 'ECONNREFUSED' || code === 'ETIMEDOUT' ? `nothing accepted the connection within ${timeoutMs} ms (${code})` : `cannot connect: ${describeSocketError(err as Error)}`;
      throw new LinkError(peerRank, address, why, { hint: 'check that the peer worker is running and that it advertised this address', cause: err });
    }
    const encryption = identity.encryption ?? 'none';
    let nonces: { acceptorNonce: Uint8Array; dialerNonce: Uint8Array };
    try {
      nonces = await handshake(socket, identity.secret, fields, deadline, signal, encryption);
    } catch (err) {
      socket.destroy();
      if (signal?.aborted) throw abandoned();
      if (!(err instanceof HandshakeFailure)) throw err;
      // A peer that was not ready (or briefly full) may accept a new attempt (Note [held connections]).
      if (err.transient && (await backOff())) continue;
      throw new LinkError(peerRank, address, err.message, { hint: err.hint });
    }
    socket.setNoDelay(true);
    if (encryption === 'none') return new SocketOutgoingLink(socket, peerRank, address);
    try {
      const key = linkTlsKey(identity.secret, fields, nonces.acceptorNonce, nonces.dialerNonce);
      return new SocketOutgoingLink(await secureDialerSocket(socket, key, pskIdentity(nonces.dialerNonce), Math.max(deadline - Date.now(), 1_000), signal), peerRank, address);
    } catch (err) {
      socket.destroy();
      if (signal?.aborted) throw abandoned();
      throw new LinkError(peerRank, address, `TLS: ${(err as Error).message}`, { hint: 'both ranks hold the secret (the handshake passed), so the TLS session should not fail: check for a proxy or a broken network between them', cause: err });
    }
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function connectOnce(host: string, port: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const settle = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const timer = setTimeout(() => {
      settle();
      socket.destroy();
      reject(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, Math.max(timeoutMs, 1));
    const onAbort = (): void => {
      settle();
      socket.off('error', onError);
      socket.destroy();
      reject(Object.assign(new Error('connect abandoned'), { code: 'ABORT_ERR' }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      settle();
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      settle();
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
  });
}

class HandshakeFailure extends Error {
  readonly hint: string;
  /** A refusal a later attempt may not meet (isTransientStatus). */
  readonly transient: boolean;
  constructor(message: string, hint: string, transient = false) {
    super(message);
    this.hint = hint;
    this.transient = transient;
  }
}

const WRONG_PEER_HINT = 'the address may belong to another process or an older generation of the run';

/** The dialer's side of Note [link handshake]; resolves once the acceptor's MAC checked out. */
function handshake(socket: Socket, secret: Uint8Array, fields: LinkHelloFields, deadline: number, signal: AbortSignal | undefined, encryption: LinkEncryption): Promise<{ acceptorNonce: Uint8Array; dialerNonce: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const dialerNonce = newNonce();
    let acceptorNonce: Uint8Array | undefined;
    let buffered = Buffer.alloc(0);
    const fail = (message: string, hint: string, transient = false): void => {
      cleanup();
      reject(new HandshakeFailure(message, hint, transient));
    };
    const timer = setTimeout(() => fail(`no handshake answer within the dial timeout`, 'the peer may be overloaded, or it never registered this generation'), Math.max(deadline - Date.now(), 1));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (acceptorNonce === undefined) {
        if (buffered.byteLength < ACCEPTOR_HELLO_BYTES) return;
        const hello = decodeAcceptorHello(buffered.subarray(0, ACCEPTOR_HELLO_BYTES));
        if ('problem' in hello) return fail(`handshake: ${hello.problem}`, WRONG_PEER_HINT);
        acceptorNonce = hello.nonce;
        buffered = buffered.subarray(ACCEPTOR_HELLO_BYTES);
        socket.write(encodeDialerHello(fields, dialerNonce, linkMac(secret, 'dialer', fields, acceptorNonce, dialerNonce, encryption)));
      }
      if (buffered.byteLength === 0) return;
      const status = buffered[0]!;
      if (status !== HandshakeStatus.ok) {
        const hint = isTransientStatus(status) ? 'the peer did not register this generation before the dial timeout' : 'the peer and this rank disagree about the run, generation, ranks or secret';
        return fail(`refused: ${statusText(status)}`, hint, isTransientStatus(status));
      }
      if (buffered.byteLength < ACCEPTOR_REPLY_OK_BYTES) return;
      if (buffered.byteLength > ACCEPTOR_REPLY_OK_BYTES) return fail('handshake: the peer sent data after its reply', WRONG_PEER_HINT);
      const expected = linkMac(secret, 'acceptor', fields, acceptorNonce, dialerNonce, encryption);
      if (!macsEqual(buffered.subarray(1, 1 + MAC_BYTES), expected)) return fail('handshake: the peer did not prove it holds the secret (wrong MAC)', WRONG_PEER_HINT);
      cleanup();
      resolve({ acceptorNonce, dialerNonce });
    };
    const onEnd = (): void => fail(acceptorNonce === undefined ? 'the peer closed the connection before its hello' : 'the peer closed the connection during the handshake', WRONG_PEER_HINT);
    const onError = (err: Error): void => fail(`handshake: ${describeSocketError(err)}`, WRONG_PEER_HINT);
    const onAbort = (): void => fail('dial abandoned during the handshake', 'the generation the link was for has ended');
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
