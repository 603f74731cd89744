import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DashboardServer, RunFeed } from '@gradmesh/dashboard';

/** The dashboard server in this process, probed with raw sockets (what a browser or a hostile page could send). */
let server: DashboardServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: { maxQueuedBytes?: number } = {}): Promise<{ feed: RunFeed; port: number }> {
  const feed = new RunFeed();
  server = await DashboardServer.start({ feed, address: { host: '127.0.0.1', port: 0 }, flushMs: 10, ...options });
  return { feed, port: server.address.port };
}

function handshake(port: number, headers: Record<string, string> = {}): Promise<{ socket: net.Socket; status: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    socket.once('data', (d) => resolve({ socket, status: d.toString().split('\r\n')[0]! }));
    socket.once('error', reject);
  });
}

const closed = (socket: net.Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('the dashboard server', () => {
  it('serves the page and uPlot from node_modules, and nothing else', async () => {
    const { port } = await start();
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script src="\/vendor\/uPlot\.iife\.min\.js">/);
    expect((await fetch(`http://127.0.0.1:${port}/vendor/uPlot.iife.min.js`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/../package.json`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status).toBe(405);
  });

  it('refuses a WebSocket from another origin and accepts its own', async () => {
    const { port } = await start();
    const foreign = await handshake(port, { Origin: 'http://evil.example' });
    expect(foreign.status).toBe('HTTP/1.1 403 Forbidden');
    foreign.socket.destroy();
    const own = await handshake(port, { Origin: `http://127.0.0.1:${port}` });
    expect(own.status).toBe('HTTP/1.1 101 Switching Protocols');
    own.socket.destroy();
    expect(server!.dropped.get('origin')).toBe(1);
  });

  it('is read-only: a viewer that sends a frame is closed', async () => {
    const { port } = await start();
    const { socket } = await handshake(port);
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from('hi').map((b, i) => b ^ mask[i % 4]!);
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload]));
    await closed(socket);
    expect(server!.dropped.get('sent-data')).toBe(1);
  });

  it('drops a viewer that stops reading, while publishing never waits for it', async () => {
    const { feed, port } = await start({ maxQueuedBytes: 64 * 1024 });
    const { socket } = await handshake(port);
    socket.pause();
    let step = 0;
    for (let round = 0; round < 400 && server!.dropped.get('slow') === undefined; round++) {
      for (let i = 0; i < 500; i++) feed.progress({ type: 'batch', epoch: 0, epochs: 1, batch: ++step, batches: 1e9, loss: 0.5, samplesPerSec: 1000, etaSeconds: 1, step, samples: 64 });
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(server!.dropped.get('slow')).toBe(1);
    expect(server!.viewerCount).toBe(0);
    socket.destroy();
  });
});
