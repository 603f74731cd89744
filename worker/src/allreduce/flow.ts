import { ConfigError } from '@gradmesh/shared/internal';
import { PIECE_HEADER_BYTES } from '@gradmesh/shared/internal';

/**
 * Note [flow control: a window of unacknowledged pieces per destination]
 * nats-server disconnects a subscriber whose pending outbound bytes exceed `max_pending` (64 MiB by default:
 * a "slow consumer"), and core NATS has no back-pressure, so the all-reduce must bound what it puts in
 * flight. The reduced piece an owner publishes is the acknowledgement: it proves that every rank's copy of that
 * piece has reached the owner. So rank r may have at most W pieces of chunk c sent but not yet returned reduced:
 *
 *   sent(r → c) − gathered(c → r) ≤ W.
 *
 * Toward one rank's connection this bounds the reduce-scatter bytes by (N−1)·W frames (each other rank's
 * window on its chunk), and the all-gather bytes by (N−1)·W frames too: owner c cannot have reduced more
 * pieces than r has sent it, so at most W reduced pieces from c are on their way to r. Hence
 *
 *   bytes in flight toward any one connection ≤ 2·(N−1)·W·(P + 16) ≤ max_pending / 2,
 *
 * counting the client's outbound buffer, the server and the socket. The factor 1/2 leaves room for control
 * traffic and for messages of a neighbouring step (a faster peer's next reduce-scatter).
 */

/** Windows larger than this buy nothing measurable (the pipeline is already full) and only use memory. */
export const MAX_WINDOW = 8;

/** The largest W satisfying the invariant above, capped at MAX_WINDOW; 0 when not even W = 1 fits. */
export function windowFor(worldSize: number, pieceBytes: number, maxPendingBytes: number): number {
  if (worldSize < 2) return MAX_WINDOW;
  const perPiece = 2 * (worldSize - 1) * (pieceBytes + PIECE_HEADER_BYTES);
  return Math.min(MAX_WINDOW, Math.floor(maxPendingBytes / 2 / perPiece));
}

/** The largest piece payload (a multiple of 4 bytes) for which W = 1 satisfies the invariant. */
export function largestPieceFor(worldSize: number, maxPendingBytes: number): number {
  const bytes = Math.floor(maxPendingBytes / 2 / (2 * Math.max(1, worldSize - 1))) - PIECE_HEADER_BYTES;
  return Math.floor(bytes / 4) * 4;
}

/** Throws ConfigError when `pieceBytes` leaves no window (the caller chose pieces too large for N and max_pending). */
export function requireWindow(worldSize: number, pieceBytes: number, maxPendingBytes: number): number {
  const w = windowFor(worldSize, pieceBytes, maxPendingBytes);
  if (w < 1) {
    throw new ConfigError('pieceBytes', `${pieceBytes}-byte pieces for ${worldSize} ranks could exceed the server's max_pending of ${maxPendingBytes} bytes`, {
      value: pieceBytes,
      hint: `use pieceBytes ≤ ${largestPieceFor(worldSize, maxPendingBytes)} or raise max_pending (and maxPendingBytes) on the server`,
    });
  }
  return w;
}

/** Rank r's send state toward one chunk owner in one step. */
export class SendWindow {
  sent = 0;
  acked = 0;
  constructor(
    readonly total: number,
    readonly window: number,
  ) {}

  /** A new step: nothing sent or acknowledged yet (windows are reused from step to step). */
  reset(): void {
    this.sent = 0;
    this.acked = 0;
  }

  canSend(): boolean {
    return this.sent < this.total && this.sent - this.acked < this.window;
  }
}
