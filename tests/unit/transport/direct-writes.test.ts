import { DataBuffer, ProtocolHandler } from '@nats-io/nats-core/internal';
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { directWritesInstalled, directWritesStatus, installDirectWrites, publishParts, whenWritten } from '../../../transport/src/nats-client-patches/direct-writes.js';

/**
 * The flush wrapper on a connection whose socket is a recorder: the client's own ProtocolHandler code
 * (sendCommand, the outbound DataBuffer) with a fake transport, so no server is needed.
 */
interface Recorder {
  readonly nc: NatsConnection;
  readonly protocol: object;
  readonly written: Uint8Array[];
  readonly callbacks: (() => void)[];
  readonly sent: Uint8Array[];
}

function fakeConnection(): Recorder {
  const written: Uint8Array[] = [];
  const callbacks: (() => void)[] = [];
  const sent: Uint8Array[] = [];
  const socket = {
    destroyed: false,
    cork: () => undefined,
    uncork: () => undefined,
    write: (b: Uint8Array, cb?: (err?: Error | null) => void) => {
      written.push(b);
      if (cb !== undefined) callbacks.push(() => cb(null));
      return true;
    },
  };
  const protocol = Object.assign(Object.create(ProtocolHandler.prototype) as object, {
    infoReceived: true,
    connected: true,
    outbound: new DataBuffer(),
    pendingLimit: 1 << 30,
    outBytes: 0,
    outMsgs: 0,
    info: { max_payload: 1 << 20 },
    transport: { socket, send: (b: Uint8Array) => void sent.push(b.slice()) },
  });
  const nc = { protocol, isClosed: () => false, publish: () => undefined } as unknown as NatsConnection;
  return { nc, protocol, written, callbacks, sent };
}

const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('direct writes (transport/src/nats-client-patches/direct-writes.ts)', () => {
  it('installs on one connection only, after its self-test passed', () => {
    const patched = fakeConnection();
    const other = fakeConnection();
    expect(installDirectWrites(patched.nc)).toBe(true);
    expect(directWritesStatus()).toBe('available');
    expect(directWritesInstalled(patched.nc)).toBe(true);
    expect(directWritesInstalled(other.nc)).toBe(false);
    expect(Object.hasOwn(patched.protocol, 'flushPending')).toBe(true);
    expect(Object.hasOwn(other.protocol, 'flushPending')).toBe(false);
    expect(Object.hasOwn(ProtocolHandler.prototype, 'flushPending')).toBe(true);
    expect((ProtocolHandler.prototype as unknown as { flushPending: unknown }).flushPending).not.toBe((patched.protocol as { flushPending: unknown }).flushPending);
  });

  it('a large message published in parts reaches the socket as those very parts; whenWritten fires from the write callback', async () => {
    const c = fakeConnection();
    installDirectWrites(c.nc);
    const header = new Uint8Array(16).fill(7);
    const body = new Uint8Array(300_000).map((_, i) => i & 0xff);
    const view = body.subarray(100, 200_100);
    let written = 0;
    whenWritten(c.nc, view, () => void written++);
    publishParts(c.nc, 'a.b', [header, view]);
    await microtasks();
    expect(c.written.some((b) => b === view)).toBe(true);
    expect(Buffer.concat(c.written).toString('latin1')).toBe(Buffer.concat([Buffer.from(`PUB a.b ${16 + view.length}\r\n`), header, view, Buffer.from('\r\n')]).toString('latin1'));
    expect(c.sent).toEqual([]);
    expect(written).toBe(0);
    for (const cb of c.callbacks) cb();
    expect(written).toBe(1);
  });

  it('on a connection without the wrapper, parts are joined and published through the public API', () => {
    const c = fakeConnection();
    const published: [string, Uint8Array][] = [];
    (c.nc as unknown as { publish: (s: string, d: Uint8Array) => void }).publish = (s, d) => void published.push([s, d]);
    publishParts(c.nc, 'x', [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(published).toEqual([['x', new Uint8Array([1, 2, 3])]]);
  });
});
