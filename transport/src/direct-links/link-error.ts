import { ClusterError } from '@gradmesh/shared';

/**
 * A direct link to a peer could not be made: nothing listened at its address until the timeout, or the peer
 * refused the handshake (wrong secret, generation or rank), or it did not prove it holds the secret. A cluster
 * failure (exit 1): the inputs were fine, the peer is gone or belongs to another generation. One line naming the
 * peer rank and address, with a hint.
 */
export class LinkError extends ClusterError {
  readonly peerRank: number;
  readonly address: string;
  readonly reason: string;
  constructor(peerRank: number, address: string, reason: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`direct link to rank ${peerRank} at ${address}: ${reason}`, { rank: peerRank, ...options });
    this.peerRank = peerRank;
    this.address = address;
    this.reason = reason;
  }
}
