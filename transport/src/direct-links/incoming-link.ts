import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { FrameReader } from './frame-reader.js';
import { LinkClose, watchSocketEnd } from './link-close.js';
import { readIntoUserBuffers } from './user-buffer-reads.js';

/** The receiving end of a link from one peer rank: frames in order, then one close. */
export interface IncomingLink {
  readonly peerRank: number;
  /**
   * Every frame, in order, as a Uint8Array of its own (byteOffset 0, exactly the frame's bytes). The receiver may
   * keep it; `releaseFrame(frame)` hands it back to a pool for reuse when done (optional). Frames that arrive
   * before a handler is set wait for it (the socket is paused meanwhile). A handler that throws closes the link.
   */
  onFrame(handler: (frame: Uint8Array) => void): void;
  /** Once, when the link ends for any reason (peer closed, reset, protocol violation, close()); `reason` is one line naming the peer. */
  onClose(handler: (reason: string) => void): void;
  close(): void;
}

/** An accepted socket after its handshake: reads frames (the acceptor only receives). */
export class SocketIncomingLink implements IncomingLink {
  readonly peerRank: number;
  readonly #socket: Socket;
  readonly #close = new LinkClose();
  readonly #closeWith: (why: string) => void;
  readonly #reader: FrameReader;
  readonly #waiting: Uint8Array[] = [];
  #handler: ((frame: Uint8Array) => void) | undefined;

  /** `onViolation` hears protocol violations (for the listener's counts) before the link closes over them. */
  constructor(socket: Socket, peerRank: number, peerAddress: string, maxFrameBytes: number, onViolation: (reason: string) => void) {
    this.peerRank = peerRank;
    this.#socket = socket;
    const describe = (cause: string): string => `link from rank ${peerRank} (${peerAddress}) closed: ${cause}`;
    this.#reader = new FrameReader(
      maxFrameBytes,
      (frame) => this.#deliver(frame),
      (reason) => {
        onViolation(reason);
        this.#closeWith(`protocol violation: ${reason}`);
      },
    );
    this.#closeWith = watchSocketEnd(socket, this.#close, describe, () => (this.#reader.atFrameBoundary ? undefined : this.#reader.describePartial()));
    // Reads go straight into frames where the process allows it (Note [user-buffer reads on accepted sockets]);
    // the 'data' listener then never fires but keeps the socket flowing, which is what makes it emit 'end'.
    // A TLS socket's reads are decrypted by Node first: they cannot go straight into frames.
    if (!(socket instanceof TLSSocket)) readIntoUserBuffers(socket, {
      nextReadBuffer: () => this.#reader.nextReadBuffer(),
      pushRead: (nread, buffer) => {
        if (!this.#close.closed) this.#reader.pushRead(nread, buffer);
      },
    });
    socket.on('data', (chunk: Buffer) => {
      if (!this.#close.closed) this.#reader.push(chunk);
    });
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.#handler = handler;
    while (this.#waiting.length > 0 && !this.#close.closed) this.#callHandler(this.#waiting.shift()!);
    if (!this.#close.closed) this.#socket.resume();
  }

  onClose(handler: (reason: string) => void): void {
    this.#close.onClose(handler);
  }

  close(): void {
    this.#closeWith('closed locally');
  }

  #deliver(frame: Uint8Array): void {
    if (this.#close.closed) return;
    if (this.#handler === undefined) {
      this.#waiting.push(frame);
      this.#socket.pause();
      return;
    }
    this.#callHandler(frame);
  }

  #callHandler(frame: Uint8Array): void {
    try {
      this.#handler!(frame);
    } catch (err) {
      this.#closeWith(`the frame handler threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
