import { describe, expect, it } from 'vitest';
import { efficiency, simulateStep, type CostParams, type Scenario } from '../../../experiment/src/simulator/step-model.js';

const WIRE = 1514 / 1448;

/** Costs with nothing but compute and wait, so a case can be computed by hand. */
const params: CostParams = {
  computeSecondsPerSample: 1e-3,
  computeSecondsPerStep: 2e-3,
  publisherSecondsPerByte: 0,
  publisherSecondsPerMessage: 0,
  serverSecondsPerByte: 0,
  serverSecondsPerMessage: 0,
  subscriberSecondsPerByte: 0,
  subscriberSecondsPerMessage: 0,
  hopLatencySeconds: 0,
  waitSecondsPerStep: 1e-3,
  waitSecondsPerWorker: 0.5e-3,
};

/** N = 4, 1000 float32, 1 Gbit/s links, dedicated hosts, 16 samples per worker. */
const base: Scenario = {
  workers: 4,
  topology: 'hub',
  link: { rateBitsPerSec: 1e9, delaySeconds: 0 },
  gradientBytes: 4000,
  localBatch: 16,
  globalBatch: 64,
  threadsPerWorker: 1,
  cpu: { kind: 'dedicated', serverCores: 1 },
  overlap: 0,
};

describe('the step model (hand-computed cases)', () => {
  it('hub, link-bound: all-reduce = hub tx bytes / rate (+ the path latency; no store-and-forward while streaming)', () => {
    // hub tx 26 112 B (message-pattern test) at 1 Gbit/s (Note [no store-and-forward in the streaming bounds]).
    const s = simulateStep(base, params);
    expect(s.allreduceTotalSeconds).toBeCloseTo((26_112 * 8 * WIRE) / 1e9, 12);
    expect(s.bound).toBe('link');
    expect(s.computeSeconds).toBeCloseTo(0.002 + 0.016, 12);
    expect(s.waitSeconds).toBeCloseTo(0.001 + 4 * 0.0005, 12);
    expect(s.stepSeconds).toBeCloseTo(0.018 + (26_112 * 8 * WIRE) / 1e9 + 0.003, 12);
    expect(s.samplesPerSec).toBeCloseTo(64 / s.stepSeconds, 9);
  });

  it('per-host, link-bound: 2(N−1)/N·S per host link (+ the path latency)', () => {
    const s = simulateStep({ ...base, topology: 'per-host' }, params);
    expect(s.allreduceTotalSeconds).toBeCloseTo((6528 * 8 * WIRE) / 1e9, 12);
  });

  it('a one-way delay adds hops × delay to the all-reduce and a control round trip to the wait', () => {
    const d = 1e-3;
    const hub = simulateStep({ ...base, link: { rateBitsPerSec: 1e9, delaySeconds: d } }, params);
    expect(hub.allreduceTotalSeconds).toBeCloseTo((26_112 * 8 * WIRE) / 1e9 + 4 * d, 12);
    expect(hub.waitSeconds).toBeCloseTo(0.003 + 4 * d, 12); // coordinator → hub → worker and back
    const perHost = simulateStep({ ...base, topology: 'per-host', link: { rateBitsPerSec: 1e9, delaySeconds: d } }, params);
    expect(perHost.allreduceTotalSeconds).toBeCloseTo((6528 * 8 * WIRE) / 1e9 + 2 * d, 12);
    expect(perHost.waitSeconds).toBeCloseTo(0.003 + 2 * d, 12);
  });

  it('the control path (step command, report) crosses 1 server each way via the hub, 2 per-host', () => {
    const h = { ...params, hopLatencySeconds: 1e-4 };
    expect(simulateStep(base, h).waitSeconds).toBeCloseTo(0.003 + 2 * 1e-4, 12);
    expect(simulateStep({ ...base, topology: 'per-host' }, h).waitSeconds).toBeCloseTo(0.003 + 4 * 1e-4, 12);
    // and the all-reduce's round trip: 2 server traversals via the hub, 4 per-host
    const hub = simulateStep(base, h).allreduceTotalSeconds - simulateStep(base, params).allreduceTotalSeconds;
    expect(hub).toBeCloseTo(2e-4, 12);
  });

  it('overlap hides that fraction of the all-reduce behind compute, never more than the compute', () => {
    const none = simulateStep(base, params);
    const half = simulateStep({ ...base, overlap: 0.5 }, params);
    const full = simulateStep({ ...base, overlap: 1 }, params);
    expect(half.stepSeconds).toBeCloseTo(none.stepSeconds - none.allreduceTotalSeconds / 2, 12);
    expect(full.stepSeconds).toBeCloseTo(none.computeSeconds + none.waitSeconds, 12);
    // A slow link: the all-reduce outlasts compute, and only compute's worth of it can hide.
    const slow = { ...base, link: { rateBitsPerSec: 1e6, delaySeconds: 0 }, overlap: 1 };
    const s = simulateStep(slow, params);
    expect(s.allreduceSeconds).toBeCloseTo(s.allreduceTotalSeconds - s.computeSeconds, 12);
  });

  it('over direct links the hub topology is link-bound at 2(N−1)/N·S per worker host link, and no server CPU or traversal counts', () => {
    const frame = 1000 + 16 + 4;
    const s = simulateStep({ ...base, transport: 'direct' }, { ...params, hopLatencySeconds: 1e-3, serverSecondsPerByte: 1 });
    // No server hop on the data path (the 1 ms hop latency would add 2 ms through NATS), and the server's 1 s per byte is not charged.
    expect(s.allreduceTotalSeconds).toBeCloseTo((6 * frame * 8 * WIRE) / 1e9, 12);
    expect(s.bound).toBe('link');
    // The control path still goes through NATS: the wait keeps its server hops.
    expect(s.waitSeconds).toBeCloseTo(0.001 + 4 * 0.0005 + 2 * 1e-3, 12);
  });

  it('CPU-bound: unshaped links leave the busiest CPU (per byte and per message) as the bound', () => {
    const cpu = { ...params, publisherSecondsPerByte: 1e-9, subscriberSecondsPerMessage: 1e-5 };
    const s = simulateStep({ ...base, link: { rateBitsPerSec: null, delaySeconds: 0 } }, cpu);
    // worker publishes 4352 B; receives 6 messages.
    expect(s.allreduceTotalSeconds).toBeCloseTo(4352e-9 + 6e-5, 12);
    expect(s.bound).toBe('cpu');
  });

  it('on a shared machine, N·threads > cores slows compute and wait by that factor, and CPU work is divided among the cores', () => {
    const shared: Scenario = { ...base, cpu: { kind: 'shared', cores: 2 }, link: { rateBitsPerSec: null, delaySeconds: 0 } };
    const cpu = { ...params, serverSecondsPerByte: 1e-9 };
    const s = simulateStep(shared, cpu);
    expect(s.computeSeconds).toBeCloseTo(2 * 0.018, 12);
    expect(s.waitSeconds).toBeCloseTo(2 * 0.003, 12);
    // hop latency stretches the same way: 2 servers on the hub's round trip, 2 on the control path, × 2
    const h = simulateStep(shared, { ...cpu, hopLatencySeconds: 1e-4 });
    expect(h.waitSeconds - s.waitSeconds).toBeCloseTo(2 * 2e-4, 12);
    // the hub moves 17 408 + 26 112 B; the workers nothing: (43 520 ns) / 2 cores.
    expect(s.allreduceTotalSeconds).toBeCloseTo(43_520e-9 / 2, 12);
  });

  it('the window bounds the all-reduce when the delay is long: ⌈pieces per chunk / W⌉ round trips', () => {
    // 8 workers × 8 pieces per chunk of 1 MiB − 16 B; W = ⌊32 MiB / (2·7·(1 MiB − 16 + 16))⌋ = 2 (flow.ts);
    // 50 ms delay, unshaped: ⌈8 / 2⌉ = 4 round trips of 4 hops × 50 ms.
    const s = simulateStep({ ...base, workers: 8, gradientBytes: 8 * 8 * 1_048_560, link: { rateBitsPerSec: null, delaySeconds: 0.05 } }, params);
    expect(s.pattern.window).toBe(2);
    expect(s.pattern.piecesPerChunk).toBe(8);
    expect(s.allreduceTotalSeconds).toBeCloseTo(4 * 4 * 0.05, 12);
    expect(s.bound).toBe('window');
  });

  it('efficiency is exactly 1 at N = 1 and below 1 beyond, falling with N on the hub', () => {
    for (const topology of ['hub', 'per-host'] as const) {
      expect(efficiency({ ...base, topology, workers: 1 }, params)).toBe(1);
    }
    const e = [2, 4, 8, 16].map((workers) => efficiency({ ...base, workers, globalBatch: 16 * workers }, params));
    for (let i = 1; i < e.length; i++) expect(e[i]).toBeLessThan(e[i - 1] as number);
    expect(e[0]).toBeLessThan(1);
  });
});
