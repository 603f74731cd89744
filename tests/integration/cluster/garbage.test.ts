import { readFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeControl } from '../../../shared/src/protocol/codec.js';
import { errorSubject, evalSubject, heartbeatSubject, joinSubject, stepDoneSubject, stepSubject } from '../../../shared/src/protocol/subjects.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import { ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * Malformed and foreign messages published on a run's control subjects while it trains are dropped and
 * counted — one log line per (kind, reason), however many arrive — and change nothing: the run completes
 * with exactly the parameters of an undisturbed run.
 */
let h: ClusterHarness;
let config: string;
let nc: NatsConnection;

beforeAll(async () => {
  h = await ClusterHarness.start();
  writeImageData(h, 600);
  config = h.file('mlp.json', mlpConfig({ epochs: 3, batchSize: 8, validationSplit: 0.2, microBatch: 4 }));
  nc = await connect({ servers: h.url });
});
afterAll(async () => {
  await nc?.close();
  await h?.close();
});

const raw = new Packr({ useRecords: false });

/** One volley of garbage at every control subject of `run`. */
function volley(run: string, n: number): void {
  const noise = new Uint8Array(37).map((_, i) => (i * 97 + n * 13) & 0xff);
  const subjects = [stepSubject(run), stepDoneSubject(run, 'w0'), joinSubject(run, 'w0'), heartbeatSubject(run, 'coordinator', 'w0'), heartbeatSubject(run, 'workers'), evalSubject(run), errorSubject(run, 'w0')];
  for (const s of subjects) {
    nc.publish(s, noise); // not MessagePack at all
    nc.publish(s, raw.pack([1, 2, 3])); // MessagePack, but not an envelope
  }
  // A valid message of ANOTHER run on this run's subjects (foreign-run).
  nc.publish(stepDoneSubject(run, 'w0'), encodeControl({ run: 'someone-else', kind: 'stepDone', from: 'w0', gen: 1, body: { step: n, rank: 0, lossSum: 1, count: 1, extras: {}, computeMs: 1, allreduceMs: 1, localFinite: true, skipped: false } }));
  nc.publish(stepSubject(run), encodeControl({ run: 'someone-else', kind: 'step', from: 'coordinator', gen: 1, body: { step: n, epoch: 0, batchIndex: 0, lr: 1 } }));
  // Another protocol version, an unknown kind, a kind on the wrong subject, an out-of-range body.
  nc.publish(stepDoneSubject(run, 'w0'), raw.pack({ v: PROTOCOL_VERSION + 1, run, kind: 'stepDone', from: 'w0', gen: 1, body: {} }));
  for (const s of [stepSubject(run), stepDoneSubject(run, 'w0')]) nc.publish(s, raw.pack({ v: PROTOCOL_VERSION, run, kind: 'teleport', from: 'w0', gen: 1, body: {} }));
  nc.publish(stepDoneSubject(run, 'w0'), raw.pack({ v: PROTOCOL_VERSION, run, kind: 'step', from: 'coordinator', gen: 1, body: { step: 1, epoch: 0, batchIndex: 0, lr: 0.1 } }));
  nc.publish(stepDoneSubject(run, 'w0'), raw.pack({ v: PROTOCOL_VERSION, run, kind: 'stepDone', from: 'w0', gen: 1, body: { step: 0, rank: -1, lossSum: 0, count: 0, extras: {}, computeMs: 0, allreduceMs: 0 } }));
  // A worker speaking as another: w1's reply on w0's subject (Note [the sender is in the subject]).
  nc.publish(stepDoneSubject(run, 'w0'), encodeControl({ run, kind: 'stepDone', from: 'w1', gen: 1, body: { step: n, rank: 1, lossSum: 1, count: 1, extras: {}, computeMs: 1, allreduceMs: 1, localFinite: true, skipped: false } }));
  // A well-formed message of another generation of this run.
  nc.publish(stepSubject(run), encodeControl({ run, kind: 'step', from: 'coordinator', gen: 7, body: { step: 100_000 + n, epoch: 0, batchIndex: 0, lr: 1 } }));
}

describe('malformed and foreign control messages', () => {
  it('are dropped and counted (one log line per kind and reason) while the run completes with undisturbed parameters', async () => {
    const cleanReport = h.path('clean.json');
    const clean = h.cluster(h.runId('clean'), config, 2, { coordinatorArgs: ['--report', cleanReport] });
    expect((await clean.coordinator.exit(120_000)).code, clean.coordinator.output).toBe(0);

    const runId = h.runId('garbage');
    const report = h.path('garbage.json');
    const { coordinator, workers } = h.cluster(runId, config, 2, { coordinatorArgs: ['--report', report] });
    let n = 0;
    volley(runId, n++); // before the run has even formed
    const timer = setInterval(() => volley(runId, n++), 10);
    try {
      expect((await coordinator.exit(120_000)).code, coordinator.output).toBe(0);
    } finally {
      clearInterval(timer);
    }
    for (const w of workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
    expect(n).toBeGreaterThan(20);

    const r = JSON.parse(readFileSync(report, 'utf8'));
    const drops: Record<string, number> = r.droppedMessages.coordinator;
    for (const key of ['unknown/malformed', 'stepDone/wrong-sender', 'stepDone/foreign-run', 'stepDone/version', 'teleport/unknown-kind', 'step/wrong-subject', 'stepDone/malformed']) {
      expect(drops[key] ?? 0, `${key} in ${JSON.stringify(drops)}`).toBeGreaterThan(1);
    }
    // Every process's drops reach the report: each worker's counts arrive with its replies.
    const workerDrops: Record<string, Record<string, number>> = r.droppedMessages.workers;
    expect(Object.keys(workerDrops), JSON.stringify(r.droppedMessages)).toHaveLength(2);
    for (const counts of Object.values(workerDrops)) expect(counts['unknown/malformed'] ?? 0, JSON.stringify(counts)).toBeGreaterThan(1);
    // Counted every time, logged once.
    expect(coordinator.stderr.match(/dropped unknown message \(malformed\)/g)).toHaveLength(1);
    for (const w of workers) {
      expect(w.stderr.match(/dropped unknown message \(malformed\)/g)).toHaveLength(1);
      expect(w.stderr).toMatch(/dropped step message \(foreign-run\)/);
      expect(w.stderr).toMatch(/dropped step message \(foreign-generation\)/);
      expect(w.stderr).toMatch(/dropped teleport message \(unknown-kind\)/);
    }
    expect(r.paramsChecksum).toBe(JSON.parse(readFileSync(cleanReport, 'utf8')).paramsChecksum);
  });
});
