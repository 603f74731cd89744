import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { parseHealthFlags } from '../../../cli/src/health/health-flags.js';
import { HealthServer } from '../../../cli/src/health/health-server.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const servers: HealthServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** Note [health endpoints] in cli/src/health/health-server.ts. */
describe('the health server', () => {
  it('answers /healthz 200 while alive and /readyz 200 or 503 with the reason, following the readiness it is given', async () => {
    let readiness = { ready: false, reason: 'waiting for workers: 0 of 2 joined' };
    const server = await HealthServer.start({ host: '127.0.0.1', port: 0 }, () => readiness);
    servers.push(server);
    const { port } = server.address;
    const alive = await get(port, '/healthz');
    expect(alive.status).toBe(200);
    expect(JSON.parse(alive.body)).toMatchObject({ status: 'alive' });
    const notReady = await get(port, '/readyz');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({ ready: false, reason: 'waiting for workers: 0 of 2 joined' });
    readiness = { ready: true, reason: 'generation 1, world 2, step 0' };
    const ready = await get(port, '/readyz?verbose=1');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, reason: 'generation 1, world 2, step 0' });
    expect((await get(port, '/readyz', 'HEAD')).status).toBe(200);
    expect((await get(port, '/metrics')).status).toBe(404);
    expect((await get(port, '/healthz', 'POST')).status).toBe(405);
  });

  it('turns a port that cannot be bound into a ConfigError naming the flag', async () => {
    const first = await HealthServer.start({ host: '127.0.0.1', port: 0 }, () => ({ ready: true, reason: '' }));
    servers.push(first);
    await expect(HealthServer.start({ host: '127.0.0.1', port: first.address.port }, () => ({ ready: true, reason: '' }))).rejects.toThrow(/--health-port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  });
});

describe('--health-port and --health-host', () => {
  it('default to none, and to 0.0.0.0 for the host (the kubelet probes the pod IP)', () => {
    expect(parseHealthFlags({})).toBeUndefined();
    expect(parseHealthFlags({ 'health-port': '8081' })).toEqual({ host: '0.0.0.0', port: 8081 });
    expect(parseHealthFlags({ 'health-port': '8081', 'health-host': '127.0.0.1' })).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseHealthFlags({ 'health-port': '8081', 'health-host': '[::1]' })).toEqual({ host: '::1', port: 8081 });
    expect(parseHealthFlags({ 'health-port': '8081', 'health-host': '::' })).toEqual({ host: '::', port: 8081 });
  });

  it('refuse port 0 (a probe needs a fixed port), ports out of range, junk, a bad host and a host without a port', () => {
    for (const port of ['0', '65536', '-1', '80a', '', '123456']) {
      expect(() => parseHealthFlags({ 'health-port': port }), port).toThrow(ConfigError);
      expect(() => parseHealthFlags({ 'health-port': port }), port).toThrow(/^--health-port: must be a port in \[1, 65535\]/);
    }
    expect(() => parseHealthFlags({ 'health-port': '8081', 'health-host': 'a b' })).toThrow(/^--health-host: must be a host name or an IP address/);
    expect(() => parseHealthFlags({ 'health-host': '0.0.0.0' })).toThrow('--health-host: needs --health-port');
  });
});
