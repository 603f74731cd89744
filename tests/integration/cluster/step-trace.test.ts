import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStepTrace, summarizeStepTrace } from '@gradmesh/shared/internal';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * Step traces (Note [step traces]): a launch given GRADMESH_TRACE_DIR (the environment form of --trace-dir) hands
 * the directory to its workers, which write one Chrome trace each, with every step of the run once and its phases
 * in order; `gradmesh trace` merges and summarizes them, and refuses what is not a trace.
 */
let h: ClusterHarness;

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  // 320 training samples, batch 16 → 20 steps an epoch, 2 epochs.
  h.file('mlp.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8 }));
  mkdirSync(h.path('traces'));
  mkdirSync(h.path('empty'));
});
afterAll(async () => h?.close());

function gradmesh(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: h.dir, encoding: 'utf8', timeout: 180_000, env: { ...process.env, GRADMESH_THREADS: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('step traces of a cluster run', () => {
  it('every worker traces every step of the run once, phases in order, a release per bucket; gradmesh trace merges them', () => {
    const run = gradmesh({ GRADMESH_TRACE_DIR: h.path('traces') }, 'launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'r.json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(h.path('r.json'), 'utf8'));
    expect(report.steps).toBe(40);
    for (const [worker, rank] of [['w0', 0], ['w1', 1]] as const) {
      const trace = readStepTrace(h.path(`traces/${worker}.trace.json`));
      const summary = summarizeStepTrace(trace);
      expect(summary.steps).toBe(report.steps);
      expect(summary.ranks).toEqual([rank]);
      const spans = (name: string) => trace.traceEvents.filter((e) => e.name === name && e.ph === 'X');
      expect(spans('compute').map((e) => e.args?.['step'])).toEqual(Array.from({ length: 40 }, (_, s) => s));
      // Within a step: compute, then (exposed) all-reduce, then the update; the next step starts after it, and this
      // step's reply goes out after that start (Note [the next step starts before the reply]).
      const end = (e: { ts?: number; dur?: number }) => (e.ts ?? 0) + (e.dur ?? 0);
      for (let s = 0; s < 40; s++) {
        const of = (name: string) => spans(name).find((e) => e.args?.['step'] === s);
        const [compute, update, reply] = [of('compute')!, of('update')!, of('reply')!];
        expect(end(compute)).toBeLessThanOrEqual(update.ts!);
        expect(reply.ts!).toBeGreaterThanOrEqual(end(update));
        const next = spans('compute').find((e) => e.args?.['step'] === s + 1);
        if (next !== undefined) expect(next.ts!).toBeGreaterThanOrEqual(end(update));
      }
      // A step whose command is already queued when its predecessor ends (sent ahead, and arrived: on this tiny
      // model that depends on timing — 34 of 39 quiet, 19 under a parallel CI run) starts before that
      // predecessor's reply goes out; replying first, none can (the reply left before the step returned).
      const replyAfterNextStart = Array.from({ length: 39 }, (_, s) => s).filter((s) => {
        const next = spans('compute').find((e) => e.args?.['step'] === s + 1)!;
        return next.ts! <= spans('reply').find((e) => e.args?.['step'] === s)!.ts!;
      });
      expect(replyAfterNextStart.length).toBeGreaterThanOrEqual(3);
      // Such a step is handed to the pool during its predecessor's update (Note [the next step starts during the
      // update]): marked, and only ever after that predecessor's all-reduce ended.
      const early = trace.traceEvents.filter((e) => e.ph === 'i' && e.name === 'handed out early');
      expect(early.length).toBeGreaterThanOrEqual(3);
      for (const mark of early) {
        const s = mark.args?.['step'] as number;
        expect(s).toBeGreaterThan(0);
        const before = spans('update').find((e) => e.args?.['step'] === s - 1)!;
        expect(mark.ts!).toBeGreaterThanOrEqual(before.ts!);
        expect(mark.ts!).toBeLessThanOrEqual(end(before));
      }
      const releases = trace.traceEvents.filter((e) => e.ph === 'i' && e.name.startsWith('release bucket'));
      expect(releases.length).toBeGreaterThanOrEqual(40);
      expect(releases.length % 40).toBe(0);
    }
    const merged = gradmesh({}, 'trace', 'traces', '--out', 'merged.json', '--json', 'summary.json');
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/worker w0 \(rank 0\), 40 steps: compute [\d.]+ \(/);
    expect(merged.stdout).toMatch(/worker w1 \(rank 1\), 40 steps: /);
    const m = JSON.parse(readFileSync(h.path('merged.json'), 'utf8'));
    expect(new Set(m.traceEvents.map((e: { pid: number }) => e.pid))).toEqual(new Set([1, 2]));
    expect(JSON.parse(readFileSync(h.path('summary.json'), 'utf8')).map((s: { steps: number }) => s.steps)).toEqual([40, 40]);
    // A merged trace saved among the workers' files is not taken for one more worker.
    const again = gradmesh({}, 'trace', 'traces', '--out', 'traces/all.trace.json');
    expect(again.code, again.stderr).toBe(0);
    const twice = gradmesh({}, 'trace', 'traces', '--out', 'merged2.json');
    expect(twice.stdout).toContain('merged trace of 2 worker(s)');
  });

  it('updated as the buckets arrive (one bucket per layer), the parts run between the waits: drawn as update, in order, never overlapping a wait', () => {
    h.file('mlp-buckets.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8, allreduce: { bucketBytes: 4 } }));
    mkdirSync(h.path('bucket-traces'));
    const run = gradmesh({ GRADMESH_TRACE_DIR: h.path('bucket-traces') }, 'launch', '--config', 'mlp-buckets.json', '--workers', '2', '--threads', '1', '--report', 'rb.json');
    expect(run.code, run.stderr).toBe(0);
    for (const worker of ['w0', 'w1']) {
      const trace = readStepTrace(h.path(`bucket-traces/${worker}.trace.json`));
      const computeTrack = trace.traceEvents.filter((e) => e.ph === 'X' && e.tid === 1);
      // Two layers, two buckets: the first layer's part runs before the last sums (the second's after them).
      const parts = computeTrack.filter((e) => e.name === 'update' && e.args?.['part'] !== undefined);
      expect(new Set(parts.map((e) => e.args?.['step'])).size).toBeGreaterThanOrEqual(35);
      expect(new Set(parts.map((e) => e.args?.['part']))).toEqual(new Set([0]));
      for (let s = 0; s < 40; s++) {
        const spans = computeTrack.filter((e) => e.args?.['step'] === s);
        expect(spans[0]!.name).toBe('compute');
        expect(spans[spans.length - 1]!.name).toBe('update');
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.ts!).toBeGreaterThanOrEqual(spans[i - 1]!.ts! + spans[i - 1]!.dur!);
      }
      const summary = summarizeStepTrace(trace);
      expect(summary.steps).toBe(40);
      expect(summary.phases.update!.medianMs).toBeGreaterThan(0);
    }
  });

  it('gradmesh train --trace-dir traces its own steps (compute, update; no all-reduce), so the two can be compared', () => {
    mkdirSync(h.path('train-traces'));
    const run = gradmesh({}, 'train', '--config', 'mlp.json', '--threads', '1', '--trace-dir', 'train-traces', '--quiet');
    expect(run.code, run.stderr).toBe(0);
    const summary = summarizeStepTrace(readStepTrace(h.path('train-traces/train.trace.json')));
    expect(summary.steps).toBe(40);
    expect(summary.phases.compute).not.toBeNull();
    expect(summary.phases.update).not.toBeNull();
    expect(summary.phases['all-reduce']).toBeNull();
  });

  it('gradmesh trace refuses an empty directory and a file that is not a trace, in one line with exit code 2', () => {
    const empty = gradmesh({}, 'trace', 'empty');
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/empty holds no \*\.trace\.json file/);
    writeFileSync(h.path('empty/w9.trace.json'), '{"traceEvents": 7}');
    const bad = gradmesh({}, 'trace', 'empty');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/w9\.trace\.json: is not a gradmesh step trace/);
  });

  it('a worker whose --trace-dir (or GRADMESH_TRACE_DIR) cannot be written stops before it joins, with exit code 2', () => {
    const flag = gradmesh({}, 'worker', '--nats', 'nats://127.0.0.1:1', '--trace-dir', 'no-such-dir');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--trace-dir.*cannot be written \(ENOENT\)/);
    const variable = gradmesh({ GRADMESH_TRACE_DIR: 'r.json' }, 'worker', '--nats', 'nats://127.0.0.1:1');
    expect(variable.code).toBe(2);
    expect(variable.stderr).toMatch(/GRADMESH_TRACE_DIR.*is not a directory/);
  });
});
