import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES } from './frame-reader.js';
import { LinkClose, watchSocketEnd } from './link-close.js';
import { InternalError } from '@gradmesh/shared';

/** The sending end of a link to one peer rank (the dialer only sends). */
export interface OutgoingLink {
  readonly peerRank: number;
  /**
   * Sends one frame made of `parts` (concatenated; no copy of the parts — the caller must not change them until
   * `written` is called). `written` fires once the frame's bytes are handed to the kernel, or once the link has
   * ended without sending them (then onClose fires as well): either way the parts are free again. Sends after the
   * end are dropped silently. A frame of 0 bytes is a caller bug (the receiver would take it as a protocol violation).
   */
  send(parts: readonly Uint8Array[], written?: () => void): void;
  /** Bytes queued in the socket and not yet written. */
  readonly bufferedBytes: number;
  onClose(handler: (reason: string) => void): void;
  close(): void;
}

/**
 * Note [frame writes without copies]
 * A frame goes out as its 4-byte length then Buffer views over the caller's parts, written between cork() and
 * uncork(): Node hands the corked chunks to the kernel as one writev, so the parts are never copied in user space
 * and the frame costs one syscall however many parts it has. Node calls each write's callback in order, so the
 * last write's callback means the whole frame is out of the caller's arrays.
 */
export class SocketOutgoingLink implements OutgoingLink {
  readonly peerRank: number;
  readonly #socket: Socket;
  readonly #close = new LinkClose();
  readonly #closeWith: (why: string) => void;

  constructor(socket: Socket, peerRank: number, peerAddress: string) {
    this.peerRank = peerRank;
    this.#socket = socket;
    this.#closeWith = watchSocketEnd(socket, this.#close, (cause) => `link to rank ${peerRank} (${peerAddress}) closed: ${cause}`, () => undefined);
    // The acceptor never sends after its handshake reply; reading also makes the socket notice the peer's EOF.
    socket.on('data', () => this.#closeWith('protocol violation: the peer sent data on a send-only link'));
  }

  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  send(parts: readonly Uint8Array[], written?: () => void): void {
    let length = 0;
    for (const p of parts) length += p.byteLength;
    if (length === 0 || length > 0xffff_ffff) throw new InternalError(`direct link to rank ${this.peerRank}: cannot send a frame of ${length} bytes`);
    if (this.#close.closed || this.#socket.destroyed) {
      if (written !== undefined) queueMicrotask(written);
      return;
    }
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32LE(length, 0);
    const socket = this.#socket;
    const last = written === undefined ? undefined : () => written();
    socket.cork();
    socket.write(header);
    let remaining = parts.filter((p) => p.byteLength > 0).length;
    for (const p of parts) {
      if (p.byteLength === 0) continue;
      remaining -= 1;
      const view = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
      if (remaining === 0 && last !== undefined) socket.write(view, last);
      else socket.write(view);
    }
    socket.uncork();
  }

  onClose(handler: (reason: string) => void): void {
    this.#close.onClose(handler);
  }

  close(): void {
    this.#closeWith('closed locally');
  }
}
