import { describe, expect, it } from 'vitest';
import { expectedLinkBytes, relativeError, serverConfig, serverForWorker, type ServerEndpoint } from '@gradmesh/experiment';

const byHost = (rows: ReturnType<typeof expectedLinkBytes>) => Object.fromEntries(rows.map((r) => [r.host, [r.txBytes, r.rxBytes]]));

describe('bytes per host link per all-reduce (reduce-scatter + all-gather)', () => {
  it('hub, N = 4, S = 400: each worker sends S = 400 and receives 2·3/4·400 = 600; the server receives 4·400 and sends 2·3·400', () => {
    expect(byHost(expectedLinkBytes('hub', ['w0', 'w1', 'w2', 'w3'], 400))).toEqual({ w0: [400, 600], w1: [400, 600], w2: [400, 600], w3: [400, 600], nats: [2400, 1600] });
  });

  it('per-host, N = 4, S = 400: every link carries 2·3/4·400 = 600 each way', () => {
    expect(byHost(expectedLinkBytes('per-host', ['w0', 'w1', 'w2', 'w3'], 400))).toEqual({ w0: [600, 600], w1: [600, 600], w2: [600, 600], w3: [600, 600] });
  });

  it('conserves bytes: on the hub what the workers send the server receives, and what it sends they receive', () => {
    for (const n of [2, 3, 5, 8]) {
      const hosts = Array.from({ length: n }, (_, i) => `w${i}`);
      const rows = expectedLinkBytes('hub', hosts, 1000);
      const server = rows.find((r) => r.host === 'nats')!;
      const workers = rows.filter((r) => r.host !== 'nats');
      expect(workers.reduce((a, r) => a + r.txBytes, 0)).toBeCloseTo(server.rxBytes, 6);
      expect(workers.reduce((a, r) => a + r.rxBytes, 0)).toBeCloseTo(server.txBytes, 6);
      // per-host: every byte one host sends another receives.
      const ph = expectedLinkBytes('per-host', hosts, 1000);
      expect(ph.reduce((a, r) => a + r.txBytes, 0)).toBeCloseTo(ph.reduce((a, r) => a + r.rxBytes, 0), 6);
    }
  });

  it('one worker moves nothing; the relative error of nothing against nothing is undefined (null)', () => {
    expect(byHost(expectedLinkBytes('hub', ['w0'], 400))).toEqual({ w0: [0, 0], nats: [0, 0] });
    expect(relativeError(5, 0)).toBeNull();
    expect(relativeError(110, 100)).toBeCloseTo(0.1, 12);
  });
});

describe('nats-server configs of a topology', () => {
  const servers: ServerEndpoint[] = [
    { host: 'w0', address: '10.77.0.1', clientPort: 4222, clusterPort: 6222 },
    { host: 'w1', address: '10.77.0.2', clientPort: 4222, clusterPort: 6222 },
  ];
  const auth = 'authorization {\n  users: []\n}\n';

  it('per-host: each server routes to every other, authenticated, and carries the same client authorization', () => {
    const c = serverConfig(servers[0]!, servers, auth, { user: 'route', password: 'p@ss' });
    expect(c).toContain('listen: "10.77.0.1:4222"');
    expect(c).toContain('listen: "10.77.0.1:6222"');
    expect(c).toContain('routes: ["nats-route://route:p%40ss@10.77.0.2:6222"]');
    expect(c).toContain('authorization { user: "route", password: "p@ss" }');
    expect(c.endsWith(auth)).toBe(true);
    expect(c).not.toContain('http:');
  });

  it('a single server has no cluster block; a monitoring port becomes an http listener', () => {
    const c = serverConfig({ ...servers[0]!, monitorPort: 8222 }, [servers[0]!], auth, { user: 'route', password: 'x' });
    expect(c).not.toContain('cluster');
    expect(c).toContain('http: "10.77.0.1:8222"');
  });

  it('hub workers all use server 0; per-host worker i uses server i', () => {
    expect(serverForWorker('hub', 1, servers).host).toBe('w0');
    expect(serverForWorker('per-host', 1, servers).host).toBe('w1');
  });
});

describe('transport clusterBlock (launch --topology per-host and the experiment share it)', () => {
  it('names the server, listens for routes, and routes to every peer with the route user', async () => {
    const { clusterBlock } = await import('@gradmesh/transport');
    const text = clusterBlock({ serverName: 'launch-w1', listen: '127.0.0.1:7001', peers: ['127.0.0.1:7000', '127.0.0.1:7002'] }, { user: 'route', password: 'a"b' }, 'c');
    expect(text).toContain('server_name: "launch-w1"');
    expect(text).toContain('name: "c"');
    expect(text).toContain('listen: "127.0.0.1:7001"');
    expect(text).toContain('routes: ["nats-route://route:a%22b@127.0.0.1:7000", "nats-route://route:a%22b@127.0.0.1:7002"]');
    // The password is JSON-quoted in the authorization line: a quote cannot end the string early.
    expect(text).toContain('password: "a\\"b"');
  });
});

describe('linkChecks: measured bytes per step against the formulas', () => {
  const run = (txBytes: number, rxBytes: number) => ({
    workers: 2, topology: 'hub' as const, link: { rateBitsPerSec: 1e9, delaySeconds: 0 }, network: 'netns' as const, warmupSteps: 0, steps: 10, globalBatchSize: 64, threadsPerWorker: 1,
    samplesPerSec: 1, stepSeconds: { median: 0, p90: 0 }, computeSeconds: { median: 0, p90: 0 }, allreduceSeconds: { median: 0, p90: 0 }, waitSeconds: { median: 0, p90: 0 },
    linkBytes: [{ host: 'nats', txBytes, rxBytes }], cpuSecondsPerRole: {},
  });
  const results = (allreduceBytes: number | undefined, r: ReturnType<typeof run>) => ({
    version: 1 as const, createdAt: '', config: 'x.json', model: { parameters: 100, gradientBytes: 400, ...(allreduceBytes === undefined ? {} : { allreduceBytes }) },
    machine: { cpus: 2, cpuModel: 'x', node: 'v20' }, load: { parallelCapacity: 2 }, runs: [r],
  });

  it('divides by the steps and compares with 2(N−1)·S out and N·S in for the hub server', async () => {
    const { linkChecks } = await import('@gradmesh/experiment');
    // S = 400, N = 2: the server sends 800 and receives 800 per step; 10 steps measured 8 800 and 7 200 bytes.
    const checks = linkChecks(results(undefined, run(8800, 7200)));
    expect(checks.map((c) => [c.direction, c.expectedPerStep, +c.error.toFixed(6)])).toEqual([['tx', 800, 0.1], ['rx', 800, -0.1]]);
  });

  it('a compressed all-reduce is checked against the bytes it sends (allreduceBytes), not the float32 gradient', async () => {
    const { linkChecks } = await import('@gradmesh/experiment');
    const checks = linkChecks(results(200, run(4000, 4000)));
    expect(checks.map((c) => c.error)).toEqual([0, 0]);
  });
});
