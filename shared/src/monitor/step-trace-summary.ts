import type { StepTraceFile, TraceEvent } from './step-trace.js';

/** The phases `gradmesh trace` summarizes, in the order a step runs them (Note [step traces]). */
export const TRACE_PHASES = ['compute', 'exposed all-reduce', 'update', 'reply', 'between steps', 'all-reduce'] as const;
export type TracePhase = (typeof TRACE_PHASES)[number];

export interface PhaseFigures {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

export interface WorkerTraceSummary {
  readonly worker: string;
  /** Ranks it held over the traced steps (a worker is re-ranked by a new generation). */
  readonly ranks: number[];
  readonly steps: number;
  readonly phases: Readonly<Record<TracePhase, PhaseFigures | null>>;
}

/**
 * Several workers' traces as one Chrome trace: worker k (in the order given) becomes process k + 1, so each
 * rank is a row group in Perfetto with its compute and all-reduce tracks.
 */
export function mergeStepTraces(traces: readonly StepTraceFile[]): StepTraceFile {
  const traceEvents: TraceEvent[] = [];
  traces.forEach((t, k) => {
    for (const e of t.traceEvents) traceEvents.push({ ...e, pid: k + 1 });
  });
  return { traceEvents, displayTimeUnit: 'ms', otherData: { gradmeshTrace: 1, worker: traces.map((t) => t.otherData.worker).join(','), merged: true } };
}

/**
 * Per worker, over its traced steps: each phase's median, min and max in ms. "between steps" is from one step's
 * update to the next step's start, for consecutive steps of one generation (the time the rank waited for, or
 * took to pick up, its next command); "all-reduce" is from the first bucket's release to the last sum, mostly
 * during compute; "reply" runs while the next step starts. A phase with no sample (no step ran) is null.
 */
export function summarizeStepTrace(trace: StepTraceFile): WorkerTraceSummary {
  interface Step { generation: number; step: number; phases: Partial<Record<TracePhase, number>>; start: number; end: number }
  const steps = new Map<string, Step>();
  const ranks = new Set<number>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X' || e.args === undefined) continue;
    const phase = e.name as TracePhase;
    if (!(TRACE_PHASES as readonly string[]).includes(phase) || phase === 'between steps') continue;
    const step = Number(e.args['step']);
    const generation = Number(e.args['generation']);
    ranks.add(Number(e.args['rank']));
    const key = `${generation}:${step}`;
    let s = steps.get(key);
    if (s === undefined) steps.set(key, (s = { generation, step, phases: {}, start: Infinity, end: -Infinity }));
    // A phase drawn in several spans (waits and update parts alternating) counts their sum.
    s.phases[phase] = (s.phases[phase] ?? 0) + (e.dur ?? 0) / 1000;
    // The compute track's phases bound the step; the communication track's (all-reduce, reply) overlap them.
    if (phase !== 'all-reduce' && phase !== 'reply') {
      s.start = Math.min(s.start, (e.ts ?? 0) / 1000);
      s.end = Math.max(s.end, ((e.ts ?? 0) + (e.dur ?? 0)) / 1000);
    }
  }
  const ordered = [...steps.values()].sort((a, b) => a.generation - b.generation || a.step - b.step);
  for (let i = 1; i < ordered.length; i++) {
    const [prev, cur] = [ordered[i - 1]!, ordered[i]!];
    if (prev.generation === cur.generation && prev.step + 1 === cur.step) cur.phases['between steps'] = Math.max(0, cur.start - prev.end);
  }
  const phases = {} as Record<TracePhase, PhaseFigures | null>;
  for (const phase of TRACE_PHASES) {
    // A step without an exposed wait waited 0 ms; other phases count only where they were recorded.
    const values = ordered.map((s) => s.phases[phase] ?? (phase === 'exposed all-reduce' && s.phases.compute !== undefined ? 0 : undefined)).filter((v): v is number => v !== undefined);
    phases[phase] = figures(values);
  }
  return { worker: trace.otherData.worker, ranks: [...ranks].sort((a, b) => a - b), steps: ordered.length, phases };
}

function figures(values: number[]): PhaseFigures | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { medianMs: s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2, minMs: s[0]!, maxMs: s[s.length - 1]! };
}
