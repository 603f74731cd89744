import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNats } from './nats-server.js';

describe('NATS test harness', () => {
  it('starts a server on 127.0.0.1 that carries messages, applies max_payload, logs one line saying how, and stops', async () => {
    const lines: string[] = [];
    const nats = await startNats({ maxPayload: 65536, log: (l) => lines.push(l) });
    try {
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(nats.via === 'spawn' ? 'spawned nats-server' : 'testcontainers');
      const nc = await connect({ servers: nats.url });
      expect(nc.info?.max_payload).toBe(65536);
      const sub = nc.subscribe('harness.echo', { max: 1 });
      nc.publish('harness.echo', new Uint8Array([1, 2, 3]));
      for await (const m of sub) expect(Array.from(m.data)).toEqual([1, 2, 3]);
      await nc.close();
    } finally {
      await nats.stop();
    }
    // Stopped means gone: a new connection is refused.
    await expect(connect({ servers: nats.url, reconnect: false, timeout: 1000 })).rejects.toThrow();
  });

  it('the spawn path works when forced (the way tests run on machines without Docker)', async () => {
    const nats = await startNats({ via: 'spawn', log: () => undefined });
    try {
      expect(nats.via).toBe('spawn');
      const nc = await connect({ servers: nats.url });
      await nc.flush();
      await nc.close();
    } finally {
      await nats.stop();
    }
  });
});
