import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNats, isRecycledPayload, receivedPayloadsInstalled, releasePayload, socketReadsInstalled } from '../../../transport/src/index.js';
import { accepts, freePort } from '../nats/nats-server.js';

/**
 * A reconnect gives the NATS client a new socket and parser; connectNats puts the receive-side patches (socket
 * reads into a reused buffer, recycled payloads) on them again, and messages then arrive intact.
 */
let server: ChildProcess | undefined;

afterEach(() => {
  server?.kill('SIGKILL');
  server = undefined;
});

async function startServer(port: number): Promise<void> {
  server = spawn(process.env['GRADMESH_NATS_SERVER'] ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('socket reads after a reconnect', () => {
  it('are installed again on the new socket, and 10 B – 1 MB messages arrive byte for byte', async () => {
    const port = await freePort();
    await startServer(port);
    const nc = await connectNats(`nats://127.0.0.1:${port}`, 'reconnect-test');
    try {
      expect(socketReadsInstalled(nc)).toBe(true);
      const socketOf = () => (nc as unknown as { protocol: { transport: { socket?: unknown } } }).protocol.transport.socket;
      const before = socketOf();
      server?.kill('SIGKILL');
      await startServer(port);
      await until('a new socket with the patches installed', () => socketOf() !== before && socketReadsInstalled(nc) && receivedPayloadsInstalled(nc));
      const sizes = [10, 70_000, 300_000, 1_000_000];
      const sent = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k * 13 + (i >>> 9)) & 0xff));
      const got: Uint8Array[] = [];
      let done: () => void = () => undefined;
      const all = new Promise<void>((resolve) => (done = resolve));
      nc.subscribe('t.reconnect', {
        callback: (_err, m) => {
          got.push(m.data.slice());
          if (isRecycledPayload(m.data)) releasePayload(m.data);
          if (got.length === sent.length) done();
        },
      });
      await nc.flush();
      for (const m of sent) nc.publish('t.reconnect', m);
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${got.length}/${sent.length} arrived`)), 15_000))]);
      got.forEach((g, i) => expect(Buffer.compare(g, sent[i] as Uint8Array), `${sizes[i]} bytes`).toBe(0));
    } finally {
      await nc.close();
    }
  });
});
