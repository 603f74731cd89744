import type { WebSocket } from 'ws';

export type ViewerDropReason = 'slow' | 'sent-data' | 'too-many' | 'origin' | 'oversize';

/**
 * Note [a slow viewer never slows training]
 * A viewer's messages are queued in its socket (ws's `bufferedAmount`: bytes handed to the socket but not yet
 * taken by the kernel). A viewer that stops reading lets that queue grow; once it passes `maxQueuedBytes` (so it
 * holds at most that plus one message, which keeps a large history message deliverable) the
 * viewer is terminated (not closed politely: a close frame would queue behind the backlog) and counted as
 * dropped 'slow'. Sending is therefore O(message) on the training path and memory per viewer is bounded;
 * nothing ever waits for a viewer. The browser reconnects and gets the history again.
 */
export class Viewer {
  readonly #socket: WebSocket;
  readonly #maxQueuedBytes: number;
  readonly #onDrop: (reason: ViewerDropReason) => void;
  #open = true;

  constructor(socket: WebSocket, options: { maxQueuedBytes: number; onDrop: (reason: ViewerDropReason) => void }) {
    this.#socket = socket;
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#onDrop = options.onDrop;
    // Read-only: a viewer that sends anything is not our page (ws already caps a frame at maxPayload).
    socket.on('message', () => this.drop('sent-data', 1008, 'this endpoint is read-only'));
    socket.on('close', () => (this.#open = false));
    socket.on('error', () => (this.#open = false));
  }

  get open(): boolean {
    return this.#open;
  }

  send(json: string): void {
    if (!this.#open) return;
    if (this.#socket.bufferedAmount > this.#maxQueuedBytes) return this.drop('slow');
    this.#socket.send(json);
  }

  drop(reason: ViewerDropReason, code?: number, why?: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#onDrop(reason);
    if (code === undefined) return this.#socket.terminate();
    // A polite close, but a peer that never answers it is not waited for (ws would wait 30 s).
    this.#socket.close(code, why);
    setTimeout(() => this.#socket.terminate(), 1_000).unref();
  }
}
