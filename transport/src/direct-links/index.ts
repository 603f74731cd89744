/**
 * Direct worker-to-worker links: the all-reduce's data path without a broker. One TCP connection per direction
 * per pair, authenticated with a per-generation secret (handshake.ts), carrying length-prefixed frames.
 */
export { dialPeer, DEFAULT_DIAL_TIMEOUT_MS } from './dial-peer.js';
export { framePoolStats, releaseFrame } from './frame-pool.js';
export { DEFAULT_MAX_FRAME_BYTES } from './frame-reader.js';
export type { IncomingLink } from './incoming-link.js';
export { LinkError } from './link-error.js';
export type { LinkIdentity } from './link-identity.js';
export type { OutgoingLink } from './outgoing-link.js';
export { PeerListener } from './peer-listener.js';
export { userBufferReadsStatus } from './user-buffer-reads.js';
export { LINK_TLS_CIPHERS, type LinkEncryption } from './link-tls.js';
export type { PeerListenerOptions, RefusalKind } from './peer-listener.js';
