import { describe, expect, it } from 'vitest';
import { DecimatedSeries, HISTORY_LIMITS, originAllowed, parseListenAddress, RunFeed } from '@gradmesh/dashboard';
import { decodeRunStatus, encodeRunStatus, GradmeshError, ProtocolError } from '../../../shared/src/internal.js';

describe('DecimatedSeries', () => {
  it('stays within its capacity, keeps the first and the newest item, and spans the whole run evenly', () => {
    const s = new DecimatedSeries<number>(100);
    for (let i = 0; i < 100_000; i++) s.push(i);
    const items = s.items();
    expect(items.length).toBeLessThanOrEqual(101);
    expect(items.length).toBeGreaterThan(50);
    expect(items[0]).toBe(0);
    expect(items[items.length - 1]).toBe(99_999);
    const gaps = new Set(items.slice(1, -1).map((v, i) => v - items[i]!));
    expect(gaps.size).toBe(1);
  });
});

describe('listen addresses and origins', () => {
  it('parses [host:]port with loopback as the default host, and names the flag on bad input', () => {
    expect(parseListenAddress('8080', '--dashboard')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListenAddress('0.0.0.0:0', '--metrics')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListenAddress('[::1]:9000', '--metrics')).toEqual({ host: '::1', port: 9000 });
    for (const bad of ['', 'x', '99999', 'host:', 'a b:1']) {
      expect(() => parseListenAddress(bad, '--dashboard')).toThrow(/--dashboard/);
    }
  });

  it('allows the page its own origin and non-browser clients, and refuses other sites unless listed', () => {
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
    expect(originAllowed(undefined, '127.0.0.1:8080')).toBe(true);
    expect(originAllowed('http://evil.example', '127.0.0.1:8080')).toBe(false);
    expect(originAllowed('http://127.0.0.1:9999', '127.0.0.1:8080')).toBe(false);
    expect(originAllowed('http://evil.example', '127.0.0.1:8080', ['http://evil.example'])).toBe(true);
    expect(originAllowed('null', '127.0.0.1:8080')).toBe(false);
  });
});

describe('RunFeed and its history', () => {
  const info = { run: 'r', name: 'n', mode: 'cluster' as const, world: 2, epochs: 3, batchSize: 10, trainCount: 25, config: {}, modelSummary: '' };

  it('counts samples per step from the global batch (the last batch is short) and steps across epochs', () => {
    const feed = new RunFeed();
    const seen: number[] = [];
    feed.subscribe((m) => m.type === 'steps' && seen.push(...m.points.map((p) => p.samples)));
    feed.setInfo(info);
    for (let b = 1; b <= 3; b++) feed.progress({ type: 'batch', epoch: 1, epochs: 3, batch: b, batches: 3, loss: 1, samplesPerSec: 1, etaSeconds: 0, step: 0, samples: 1 });
    expect(seen).toEqual([10, 10, 5]);
    expect(feed.history.lastPoint?.step).toBe(6);
  });

  it('answers status from membership events and step timings: ranks, health, lagging worker, failure', () => {
    const feed = new RunFeed();
    feed.setInfo(info);
    feed.event({ time: 0, kind: 'joined', generation: 0, worker: 'a', step: 0, detail: '' });
    feed.event({ time: 0, kind: 'joined', generation: 0, worker: 'b', step: 0, detail: '' });
    feed.event({ time: 0, kind: 'generation', generation: 1, worker: null, step: 0, detail: '', ranks: [{ rank: 0, worker: 'a' }, { rank: 1, worker: 'b' }] });
    feed.progress({ type: 'batch', epoch: 0, epochs: 3, batch: 1, batches: 3, loss: 0.5, samplesPerSec: 100, etaSeconds: 0, step: 0, samples: 1 });
    feed.stepTimed({ step: 0, wallMs: 100, ranks: [{ rank: 0, computeMs: 10, allreduceMs: 5, waitMs: 85, samples: 5 }, { rank: 1, computeMs: 90, allreduceMs: 5, waitMs: 5, samples: 5 }] });
    const s = feed.history.status('r', 42);
    expect(s).toMatchObject({ run: 'r', state: 'running', world: 2, generation: 1, step: 1, epoch: 1, epochs: 3, loss: 0.5, samplesPerSec: 100, time: 42 });
    expect(s.workers.map((w) => [w.rank, w.worker, w.health, w.computeMs])).toEqual([[0, 'a', 'ok', 10], [1, 'b', 'lagging', 90]]);
    feed.event({ time: 0, kind: 'error', generation: 1, worker: 'b', step: 1, detail: 'died' });
    expect(feed.history.status('r').state).toBe('failed');
    expect(feed.history.status('r').workers[1]!.health).toBe('failed');
  });

  it('replays a bounded history: a late viewer gets at most the limits whatever the run length', () => {
    const feed = new RunFeed();
    feed.setInfo(info);
    for (let i = 0; i < 20_000; i++) feed.progress({ type: 'batch', epoch: 0, epochs: 1, batch: i + 1, batches: 1e6, loss: 1, samplesPerSec: 1, etaSeconds: 0, step: 0, samples: 1 });
    for (let i = 0; i < 2_000; i++) feed.event({ time: i, kind: 'joined', generation: 0, worker: `w${i}`, step: 0, detail: '' });
    const messages = feed.history.messages();
    const points = messages.flatMap((m) => (m.type === 'steps' ? m.points : []));
    expect(points.length).toBeLessThanOrEqual(HISTORY_LIMITS.steps + 1);
    expect(points[points.length - 1]!.step).toBe(20_000);
    expect(messages.filter((m) => m.type === 'event').length).toBe(HISTORY_LIMITS.events);
    expect(JSON.stringify(messages).length).toBeLessThan(1024 * 1024);
  });
});

describe('the status message', () => {
  it('round-trips and rejects a malformed reply with a ProtocolError naming the field', () => {
    const feed = new RunFeed();
    const status = feed.history.status('r', 1);
    expect(decodeRunStatus('gradmesh.r.status', encodeRunStatus(status))).toEqual(status);
    const bad = new TextEncoder().encode(JSON.stringify({ ...status, world: -1 }));
    expect(() => decodeRunStatus('gradmesh.r.status', bad)).toThrow(ProtocolError);
    expect(() => decodeRunStatus('gradmesh.r.status', bad)).toThrow(/status\.world: must be ≥ 0/);
    expect(() => decodeRunStatus('gradmesh.r.status', new TextEncoder().encode('{'))).toThrow(GradmeshError);
  });

  it('turns the NaN guard\'s skip into a stepSkipped event naming the step and ranks', () => {
    const feed = new RunFeed();
    feed.setInfo({ run: 'r', name: 'n', mode: 'cluster', world: 2, epochs: 3, batchSize: 10, trainCount: 25, config: {}, modelSummary: '' });
    feed.progress({ type: 'skipped', step: 5, ranks: [1], consecutive: 1 });
    const events = feed.history.messages().flatMap((m) => (m.type === 'event' ? [m.event] : []));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'stepSkipped', step: 5 });
    expect(events[0]!.detail).toBe('non-finite gradient (rank(s) 1); 1 in a row');
  });
});
