import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SocketOutgoingLink } from '../../../transport/src/direct-links/outgoing-link.js';

/** A socket that records what the link writes, between which cork/uncork, and lets the test complete writes. */
class RecordingSocket extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  readonly calls: string[] = [];
  readonly chunks: Uint8Array[] = [];
  readonly callbacks: ((err?: Error | null) => void)[] = [];
  cork(): void {
    this.calls.push('cork');
  }
  uncork(): void {
    this.calls.push('uncork');
  }
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    this.calls.push(`write ${chunk.byteLength}${cb ? ' +cb' : ''}`);
    this.chunks.push(chunk);
    if (cb) this.callbacks.push(cb);
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
  }
}

function link(): { socket: RecordingSocket; out: SocketOutgoingLink } {
  const socket = new RecordingSocket();
  return { socket, out: new SocketOutgoingLink(socket as unknown as Socket, 3, '127.0.0.1:9') };
}

describe('OutgoingLink.send', () => {
  it('writes the length and views over the caller parts (no copies), corked into one writev, with `written` on the last write', () => {
    const { socket, out } = link();
    const backing = new Uint8Array(1 << 20);
    const a = backing.subarray(0, 1000);
    const b = backing.subarray(1000);
    let written = 0;
    out.send([a, new Uint8Array(0), b], () => (written += 1));
    expect(socket.calls).toEqual(['cork', 'write 4', 'write 1000', `write ${(1 << 20) - 1000} +cb`, 'uncork']);
    const [header, va, vb] = socket.chunks;
    expect(Buffer.from(header!).readUInt32LE(0)).toBe(1 << 20);
    // Same memory as the caller's, not a copy.
    expect([va!.buffer, va!.byteOffset, vb!.buffer, vb!.byteOffset]).toEqual([backing.buffer, 0, backing.buffer, 1000]);
    expect(written).toBe(0);
    socket.callbacks[0]!();
    expect(written).toBe(1);
  });

  it('a frame of 0 bytes is refused at the call; sends after the end are dropped but still release their parts', async () => {
    const { socket, out } = link();
    expect(() => out.send([new Uint8Array(0)])).toThrow(/cannot send a frame of 0 bytes/);
    const closes: string[] = [];
    out.onClose((r) => closes.push(r));
    out.close();
    let written = false;
    out.send([Uint8Array.of(1)], () => (written = true));
    await Promise.resolve();
    expect(written).toBe(true);
    expect(socket.chunks).toEqual([]);
    expect(closes).toEqual(['link to rank 3 (127.0.0.1:9) closed: closed locally']);
  });
});
