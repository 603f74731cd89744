import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_RUN_ID_BYTES } from './link-identity.js';

/**
 * Note [link handshake]
 * The acceptor speaks first: ACCEPTOR_HELLO = magic, version, a fresh 16-byte nonce. The dialer answers with
 * DIALER_HELLO = magic, version, runId, generation, fromRank, toRank, its own nonce and
 * HMAC-SHA256(secret, transcript("dialer")); the acceptor checks it and replies with one status byte and, when the
 * status is OK, HMAC-SHA256(secret, transcript("acceptor")), so the dialer knows it reached a peer holding the secret
 * and not whatever listens on a reused port. The transcript binds the run, generation, both ranks and both nonces:
 * a recorded hello cannot be replayed (the acceptor's nonce is new each time), redirected to another rank or
 * generation, or reflected back (the role label differs). Every field has a fixed width or a length prefix, so no
 * two transcripts encode to the same bytes. The secret is per generation, so an old generation's peers cannot
 * authenticate into a new one.
 *
 * The status byte is sent before closing on a refusal so that the dialer can say why in its error; it tells an
 * unauthenticated peer no more than a closed connection would (which check failed).
 *
 * All integers little-endian. Sizes are bounded (runId ≤ MAX_RUN_ID_BYTES), so a reader never buffers more than
 * MAX_DIALER_HELLO_BYTES before deciding.
 */
export const LINK_MAGIC = 0x4b4c4d47; // "GMLK" read little-endian
export const LINK_VERSION = 1;
export const NONCE_BYTES = 16;
export const MAC_BYTES = 32;
const MAC_LABEL = 'gradmesh-link-v1';

export const ACCEPTOR_HELLO_BYTES = 4 + 1 + NONCE_BYTES;
/** Dialer hello up to the runId: magic, version, runId length (u16). */
export const DIALER_HELLO_PREFIX_BYTES = 4 + 1 + 2;
const DIALER_HELLO_FIXED_BYTES = DIALER_HELLO_PREFIX_BYTES + 4 + 4 + 4 + NONCE_BYTES + MAC_BYTES;
export const MAX_DIALER_HELLO_BYTES = DIALER_HELLO_FIXED_BYTES + MAX_RUN_ID_BYTES;
export const ACCEPTOR_REPLY_OK_BYTES = 1 + MAC_BYTES;

/** What the acceptor answers a dialer hello with (one byte; OK is followed by the acceptor's MAC). */
export const HandshakeStatus = {
  ok: 0,
  badHello: 1,
  unknownGeneration: 2,
  wrongRank: 3,
  rankOutOfRange: 4,
  wrongMac: 5,
  duplicateRank: 6,
  busy: 7,
  /** Held for the hold timeout and still not registered: the peer may register it later (a transient refusal). */
  notRegisteredYet: 8,
} as const;
export type HandshakeStatusCode = (typeof HandshakeStatus)[keyof typeof HandshakeStatus];

/** Refusals that may not repeat if the dialer tries again (the peer was not ready, or briefly overloaded). */
export function isTransientStatus(status: number): boolean {
  return status === HandshakeStatus.notRegisteredYet || status === HandshakeStatus.busy;
}

export function statusText(status: number): string {
  switch (status) {
    case HandshakeStatus.badHello: return 'the peer could not parse our handshake (other gradmesh version?)';
    case HandshakeStatus.unknownGeneration: return 'the peer does not accept links of this run and generation';
    case HandshakeStatus.wrongRank: return 'the peer is not the rank we dialled';
    case HandshakeStatus.rankOutOfRange: return 'the peer says our rank is out of range';
    case HandshakeStatus.wrongMac: return 'the peer rejected our MAC (different secret)';
    case HandshakeStatus.duplicateRank: return 'the peer already has a link from our rank in this generation';
    case HandshakeStatus.busy: return 'the peer holds too many pending connections';
    case HandshakeStatus.notRegisteredYet: return 'the peer has not registered this run and generation (yet)';
    default: return `the peer refused with unknown status ${status}`;
  }
}

export interface LinkHelloFields {
  readonly runId: string;
  readonly generation: number;
  readonly fromRank: number;
  readonly toRank: number;
}

export interface DialerHello extends LinkHelloFields {
  readonly dialerNonce: Uint8Array;
  readonly mac: Uint8Array;
}

export function newNonce(): Uint8Array {
  return randomBytes(NONCE_BYTES);
}

export function encodeAcceptorHello(nonce: Uint8Array): Buffer {
  const b = Buffer.alloc(ACCEPTOR_HELLO_BYTES);
  b.writeUInt32LE(LINK_MAGIC, 0);
  b.writeUInt8(LINK_VERSION, 4);
  b.set(nonce, 5);
  return b;
}

/** The acceptor's nonce, or why the bytes are not an acceptor hello of this version. */
export function decodeAcceptorHello(bytes: Uint8Array): { nonce: Uint8Array } | { problem: string } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.byteLength !== ACCEPTOR_HELLO_BYTES) return { problem: `acceptor hello of ${b.byteLength} bytes` };
  if (b.readUInt32LE(0) !== LINK_MAGIC) return { problem: 'bad magic (not a gradmesh link listener)' };
  if (b.readUInt8(4) !== LINK_VERSION) return { problem: `link protocol version ${b.readUInt8(4)}, expected ${LINK_VERSION}` };
  return { nonce: Uint8Array.prototype.slice.call(b, 5, 5 + NONCE_BYTES) };
}

/** The MAC of one role over the whole handshake transcript (Note [link handshake]). */
export function linkMac(secret: Uint8Array, role: 'dialer' | 'acceptor', fields: LinkHelloFields, acceptorNonce: Uint8Array, dialerNonce: Uint8Array, encryption: 'none' | 'tls' = 'none'): Buffer {
  const runId = Buffer.from(fields.runId, 'utf8');
  const ints = Buffer.alloc(2 + 12);
  ints.writeUInt16LE(runId.byteLength, 0);
  ints.writeUInt32LE(fields.generation, 2);
  ints.writeUInt32LE(fields.fromRank, 6);
  ints.writeUInt32LE(fields.toRank, 10);
  const h = createHmac('sha256', secret);
  // The link's encryption is part of what both ends prove (Note [encrypted links] in link-tls.ts).
  h.update(`${MAC_LABEL}${encryption === 'tls' ? '+tls' : ''}\0${role}\0`);
  h.update(ints.subarray(0, 2));
  h.update(runId);
  h.update(ints.subarray(2));
  h.update(acceptorNonce);
  h.update(dialerNonce);
  return h.digest();
}

export function macsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

export function encodeDialerHello(fields: LinkHelloFields, dialerNonce: Uint8Array, mac: Uint8Array): Buffer {
  const runId = Buffer.from(fields.runId, 'utf8');
  const b = Buffer.alloc(DIALER_HELLO_FIXED_BYTES + runId.byteLength);
  let o = 0;
  o = b.writeUInt32LE(LINK_MAGIC, o);
  o = b.writeUInt8(LINK_VERSION, o);
  o = b.writeUInt16LE(runId.byteLength, o);
  b.set(runId, o);
  o += runId.byteLength;
  o = b.writeUInt32LE(fields.generation, o);
  o = b.writeUInt32LE(fields.fromRank, o);
  o = b.writeUInt32LE(fields.toRank, o);
  b.set(dialerNonce, o);
  o += NONCE_BYTES;
  b.set(mac, o);
  return b;
}

/**
 * How many bytes the dialer hello starting with `prefix` has in total (from its first DIALER_HELLO_PREFIX_BYTES),
 * or why those bytes cannot start one.
 */
export function dialerHelloLength(prefix: Uint8Array): { length: number } | { problem: string } {
  const b = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (b.readUInt32LE(0) !== LINK_MAGIC) return { problem: 'bad magic (not a gradmesh link dialer)' };
  if (b.readUInt8(4) !== LINK_VERSION) return { problem: `link protocol version ${b.readUInt8(4)}, expected ${LINK_VERSION}` };
  const runIdBytes = b.readUInt16LE(5);
  if (runIdBytes === 0 || runIdBytes > MAX_RUN_ID_BYTES) return { problem: `runId of ${runIdBytes} bytes` };
  return { length: DIALER_HELLO_FIXED_BYTES + runIdBytes };
}

/** Decodes a complete dialer hello (its length as dialerHelloLength said). */
export function decodeDialerHello(bytes: Uint8Array): DialerHello | { problem: string } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expected = dialerHelloLength(b);
  if ('problem' in expected) return expected;
  if (expected.length !== b.byteLength) return { problem: `dialer hello of ${b.byteLength} bytes, expected ${expected.length}` };
  let o = DIALER_HELLO_PREFIX_BYTES;
  const runIdBytes = b.readUInt16LE(5);
  let runId: string;
  try {
    runId = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(o, o + runIdBytes));
  } catch {
    return { problem: 'runId is not UTF-8' };
  }
  o += runIdBytes;
  const generation = b.readUInt32LE(o);
  const fromRank = b.readUInt32LE(o + 4);
  const toRank = b.readUInt32LE(o + 8);
  o += 12;
  const dialerNonce = Uint8Array.prototype.slice.call(b, o, o + NONCE_BYTES);
  const mac = Uint8Array.prototype.slice.call(b, o + NONCE_BYTES, o + NONCE_BYTES + MAC_BYTES);
  return { runId, generation, fromRank, toRank, dialerNonce, mac };
}

export function encodeAcceptorReply(status: HandshakeStatusCode, mac?: Uint8Array): Buffer {
  if (status !== HandshakeStatus.ok) return Buffer.from([status]);
  const b = Buffer.alloc(ACCEPTOR_REPLY_OK_BYTES);
  b.writeUInt8(status, 0);
  b.set(mac!, 1);
  return b;
}

/**
 * The acceptor's verdict on a dialer hello for its registered identity (same run and generation), in the order
 * that leaks least: addressing first, then the MAC, and the duplicate check only for a peer that proved the
 * secret, so a forger cannot use up a rank's slot.
 */
export function checkDialerHello(hello: DialerHello, identity: { readonly rank: number; readonly worldSize: number; readonly secret: Uint8Array; readonly encryption?: 'none' | 'tls' }, acceptorNonce: Uint8Array, linkedRanks: ReadonlySet<number>): HandshakeStatusCode {
  if (hello.toRank !== identity.rank) return HandshakeStatus.wrongRank;
  if (hello.fromRank >= identity.worldSize || hello.fromRank === identity.rank) return HandshakeStatus.rankOutOfRange;
  if (!macsEqual(hello.mac, linkMac(identity.secret, 'dialer', hello, acceptorNonce, hello.dialerNonce, identity.encryption))) return HandshakeStatus.wrongMac;
  if (linkedRanks.has(hello.fromRank)) return HandshakeStatus.duplicateRank;
  return HandshakeStatus.ok;
}
