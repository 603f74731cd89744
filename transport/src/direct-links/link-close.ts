import type { Socket } from 'node:net';

/**
 * How a link ends, shared by both directions: the first reason wins and every onClose handler hears it exactly
 * once, also one registered after the end (in a microtask, never inside the registering call).
 */
export class LinkClose {
  readonly #handlers: ((reason: string) => void)[] = [];
  #reason: string | undefined;

  get closed(): boolean {
    return this.#reason !== undefined;
  }

  onClose(handler: (reason: string) => void): void {
    const reason = this.#reason;
    if (reason === undefined) this.#handlers.push(handler);
    else queueMicrotask(() => callHandler(handler, reason));
  }

  /** Ends the link with `reason`; false when it had ended already. */
  finish(reason: string): boolean {
    if (this.#reason !== undefined) return false;
    this.#reason = reason;
    for (const h of this.#handlers.splice(0)) callHandler(h, reason);
    return true;
  }
}

/** A close handler that throws must not stop the others or escape into the socket's event loop. */
function callHandler(handler: (reason: string) => void, reason: string): void {
  try {
    handler(reason);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** One line for a socket error: its message, with its code when the message does not say it. */
export function describeSocketError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  // OpenSSL's messages ("<id>:error:<lib code>:SSL routines:<function>:<reason>:<file>:<line>:") become their reason.
  const openssl = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(error.message);
  const message = (openssl === null ? error.message : `TLS: ${openssl[1]}`).replace(/\s*\n\s*/g, ' ').trim();
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * Watches a socket's end and reports it once through `close`: a reset or other error, a peer EOF (clean, or in
 * the middle of a frame as `partial` says), or the socket simply closing. `describe` turns the cause into the
 * one-line reason naming the peer. Returns the local closer, which ends the link with its own reason.
 */
export function watchSocketEnd(socket: Socket, close: LinkClose, describe: (cause: string) => string, partial: () => string | undefined): (why: string) => void {
  let cause: string | undefined;
  socket.on('error', (err) => {
    cause ??= describeSocketError(err);
    // A TCP socket closes after its error by itself; a TLS socket whose record failed its MAC does not.
    socket.destroy();
  });
  socket.on('end', () => {
    const missing = partial();
    cause ??= missing === undefined ? 'peer closed the link' : `peer closed the link in the middle of a frame (${missing})`;
    // Half-open links are useless here (each side only reads or only writes): end ours too.
    socket.destroy();
  });
  socket.on('close', () => {
    close.finish(describe(cause ?? 'connection closed'));
  });
  return (why: string) => {
    if (close.finish(describe(why))) socket.destroy();
  };
}
