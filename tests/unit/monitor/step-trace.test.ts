import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, isOrdered, mergeStepTraces, readStepTrace, StepTrace, stepTraceFile, summarizeStepTrace, writeStepTrace, type StepTimeline } from '@gradmesh/shared/internal';

/** A timeline of `step` starting at `at` ms: compute 10, exposed 2, update 0.5, reply 0.25 from +13, buckets at +4 and +9. */
function timeline(step: number, at: number, generation = 1): StepTimeline {
  return { step, rank: 0, generation, started: at, releases: [at + 4, at + 9], computed: at + 10, reduced: at + 12, updated: at + 12.5, replying: at + 13, replied: at + 13.25 };
}

describe('step traces (Note [step traces])', () => {
  it('keeps the most recent completed steps, oldest first, and never more than its capacity', () => {
    const trace = new StepTrace(3);
    trace.begin(99, 0, 1); // begun, never recorded (the step failed)
    for (let s = 0; s < 5; s++) trace.record(trace.begin(s, 0, 1));
    expect(trace.timelines().map((t) => t.step)).toEqual([2, 3, 4]);
  });

  it('a timeline cut short (a phase never reached, a release after the sums) is not ordered, so it is not drawn', () => {
    expect(isOrdered(timeline(0, 100))).toBe(true);
    expect(isOrdered({ ...timeline(0, 100), reduced: 95 })).toBe(false);
    expect(isOrdered({ ...timeline(0, 100), replying: 112 })).toBe(false);
    expect(isOrdered({ ...timeline(0, 100), releases: [104, 113] })).toBe(false);
    expect(isOrdered({ ...timeline(0, 100), releases: [109, 104] })).toBe(false);
    const file = stepTraceFile('w0', 1, [timeline(0, 100), { ...timeline(1, 120), updated: 90 }]);
    expect(new Set(file.traceEvents.filter((e) => e.ph !== 'M').map((e) => e.args?.['step']))).toEqual(new Set([0]));
  });

  it('draws each phase as a complete event in µs on its track, with one instant per bucket release', () => {
    const file = stepTraceFile('w0', 1, [timeline(0, 100)]);
    const x = Object.fromEntries(file.traceEvents.filter((e) => e.ph === 'X').map((e) => [e.name, [e.tid, e.ts, e.dur]]));
    expect(x).toEqual({ compute: [1, 100_000, 10_000], 'exposed all-reduce': [1, 110_000, 2_000], update: [1, 112_000, 500], reply: [2, 113_000, 250], 'all-reduce': [2, 104_000, 8_000] });
    expect(file.traceEvents.filter((e) => e.ph === 'i').map((e) => [e.name, e.ts])).toEqual([['release bucket 0', 104_000], ['release bucket 1', 109_000]]);
  });

  it('summarizes each phase per worker, "between steps" only across consecutive steps of one generation', () => {
    // Step 0's update ends at 112.5 and step 1 starts at 113.5: 1 ms between them (its reply overlaps step 1); step 2 is in a new generation.
    const file = stepTraceFile('w0', 1, [timeline(0, 100), timeline(1, 113.5), timeline(2, 200, 2)]);
    const s = summarizeStepTrace(file);
    expect(s.steps).toBe(3);
    expect(s.phases.compute).toEqual({ medianMs: 10, minMs: 10, maxMs: 10 });
    expect(s.phases['exposed all-reduce']?.medianMs).toBeCloseTo(2, 9);
    expect(s.phases['between steps']).toEqual({ medianMs: 1, minMs: 1, maxMs: 1 });
    expect(s.phases['all-reduce']?.medianMs).toBeCloseTo(8, 9);
  });

  it('updated as the buckets arrive: the parts applied between the waits are update, not exposed all-reduce, on the trace and in its summary', () => {
    // Compute ends at 110, the last sums are in at 112; parts ran 110.5–111 and 111.25–111.5, the rest of the update 112–112.5.
    const t: StepTimeline = { ...timeline(0, 100), updateParts: [110.5, 111, 111.25, 111.5] };
    expect(isOrdered(t)).toBe(true);
    const file = stepTraceFile('w0', 1, [t]);
    const compute = file.traceEvents.filter((e) => e.ph === 'X' && e.tid === 1).map((e) => [e.name, e.ts, e.dur]);
    expect(compute).toEqual([
      ['compute', 100_000, 10_000],
      ['exposed all-reduce', 110_000, 500],
      ['update', 110_500, 500],
      ['exposed all-reduce', 111_000, 250],
      ['update', 111_250, 250],
      ['exposed all-reduce', 111_500, 500],
      ['update', 112_000, 500],
    ]);
    const s = summarizeStepTrace(file);
    expect(s.phases['exposed all-reduce']?.medianMs).toBeCloseTo(1.25, 9);
    expect(s.phases.update?.medianMs).toBeCloseTo(1.25, 9);
    // A part outside [computed, reduced], overlapping another or cut in half is not drawn.
    expect(isOrdered({ ...t, updateParts: [109, 111] })).toBe(false);
    expect(isOrdered({ ...t, updateParts: [111, 112.5] })).toBe(false);
    expect(isOrdered({ ...t, updateParts: [110.5, 111, 110.8, 111.5] })).toBe(false);
    expect(isOrdered({ ...t, updateParts: [110.5] })).toBe(false);
  });

  it('merging gives every worker its own process id', () => {
    const merged = mergeStepTraces([stepTraceFile('w0', 1, [timeline(0, 100)]), stepTraceFile('w1', 1, [timeline(0, 100)])]);
    expect(new Set(merged.traceEvents.map((e) => e.pid))).toEqual(new Set([1, 2]));
    expect(merged.otherData.worker).toBe('w0,w1');
  });

  it('a written trace reads back; a file that is not one is refused with one line naming it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-trace-'));
    const good = path.join(dir, 'w0.trace.json');
    writeStepTrace(good, 'w0', [timeline(0, 100)]);
    expect(summarizeStepTrace(readStepTrace(good)).steps).toBe(1);
    const bad = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return () => readStepTrace(path.join(dir, name));
    };
    expect(bad('a.json', '{"traceEvents": [')).toThrow(DataError);
    expect(bad('b.json', '{"traceEvents": []}')).toThrow(/b\.json: is not a gradmesh step trace/);
    expect(bad('c.json', JSON.stringify({ traceEvents: [{ name: 'compute', ph: 'X', pid: 1, tid: 1, ts: 5, dur: -1, args: { step: 0 } }], otherData: { gradmeshTrace: 1, worker: 'w0' } }))).toThrow(/c\.json: traceEvents\[0\]: ts \(and dur/);
    expect(bad('d.json', JSON.stringify({ traceEvents: [{ name: 'compute', ph: 'X', pid: 1, tid: 1, ts: 5, dur: 1, args: {} }], otherData: { gradmeshTrace: 1, worker: 'w0' } }))).toThrow(/args\.step must be an integer/);
    expect(() => readStepTrace(path.join(dir, 'missing.json'))).toThrow(/missing\.json: cannot be read \(ENOENT\)/);
  });
});
