/**
 * Note [step traces]
 * The run report gives a step's compute, all-reduce and exposed all-reduce as sums; what it cannot show is
 * *when* things happen inside one step — when each gradient bucket went out, how long the step waited after
 * backward, what the update and the reply cost, and how long a rank sat between two steps. A worker started
 * with `--trace-dir <dir>` (GRADMESH_TRACE_DIR) keeps one StepTimeline per step and, when it exits, writes
 * them to `<dir>/<worker>.trace.json` in the Chrome trace-event format (the JSON that Perfetto and
 * chrome://tracing open, and that torch.profiler exports). Each rank is a process with two tracks, like a
 * GPU framework's compute and communication streams:
 *   compute:       "compute" (this rank's gradients), "exposed all-reduce" (waiting after compute),
 *                  "update" (the optimizer step and checks); when the update is applied bucket by bucket as the
 *                  sums arrive (Note [update as the buckets arrive] in shared/src/train/update.ts), each part is an
 *                  "update" of its own between the waits, so waiting and updating are never drawn as one;
 *   communication: "all-reduce" (first bucket released → every bucket summed), with an instant per bucket
 *                  release, and "reply" (the stepDone message, sent once the next step has started:
 *                  Note [the next step starts before the reply] in worker/src/worker.ts).
 * Times are wall-clock microseconds (performance.timeOrigin + now), so the files of the ranks of one machine
 * line up when merged (`gradmesh trace <dir>`); across machines they are as good as the clocks' sync.
 * Recording costs a few performance.now() calls per step; the buffer is bounded (MAX_TRACED_STEPS, the most
 * recent are kept), so a long run cannot grow it without limit.
 */

/** One step of one rank, as absolute wall-clock milliseconds (performance.timeOrigin + performance.now()). */
export interface StepTimeline {
  readonly step: number;
  readonly rank: number;
  readonly generation: number;
  /** The step command was taken up. */
  started: number;
  /** When the step's micro-batches were handed to the pool during the previous step's update, if they were (Note [the next step starts during the update] in worker/src/replica.ts). */
  handedOut?: number;
  /** When each gradient bucket was released to the all-reduce, in release order. */
  readonly releases: number[];
  /** Gradients computed (backward over). */
  computed: number;
  /**
   * Update parts applied while the all-reduce was still running, as [from, to, from, to, …] (Note [update as the
   * buckets arrive]); absent or empty when the whole update ran after `reduced`.
   */
  readonly updateParts?: number[];
  /** Every bucket summed across the ranks. */
  reduced: number;
  /** The update applied (or skipped) and the checksum taken. */
  updated: number;
  /** The stepDone reply began (after the next step, if one was queued, started). */
  replying: number;
  /** The stepDone reply handed to NATS. */
  replied: number;
}

/** A Chrome trace event (the fields this writer uses): complete ("X"), instant ("i") or metadata ("M"). */
export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly s?: 't';
  readonly cat?: string;
  readonly args?: Readonly<Record<string, string | number>>;
}

/** The file a worker writes: a Chrome trace plus what `gradmesh trace` needs to check it is one of ours. */
export interface StepTraceFile {
  readonly traceEvents: TraceEvent[];
  readonly displayTimeUnit: 'ms';
  /** `merged`: several workers' traces in one (mergeStepTraces), not one worker's. */
  readonly otherData: { readonly gradmeshTrace: 1; readonly worker: string; readonly merged?: true };
}

/** Steps kept per worker (the most recent): ≈ 200 bytes each, so at most ≈ 10 MB. */
export const MAX_TRACED_STEPS = 50_000;

/** Wall-clock milliseconds, comparable across the processes of one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The most recent MAX_TRACED_STEPS step timelines of one worker (Note [step traces]). */
export class StepTrace {
  readonly #capacity: number;
  readonly #steps: StepTimeline[] = [];
  #next = 0;

  constructor(capacity = MAX_TRACED_STEPS) {
    this.#capacity = Math.max(1, capacity);
  }

  /** A new timeline, started now; the caller fills in the rest as the step proceeds, then `record`s it. */
  begin(step: number, rank: number, generation: number): StepTimeline {
    const now = wallMs();
    return { step, rank, generation, started: now, releases: [], updateParts: [], computed: now, reduced: now, updated: now, replying: now, replied: now };
  }

  /** Keeps a completed step's timeline (a step that failed is not recorded: its phases never all ran). */
  record(t: StepTimeline): void {
    if (this.#steps.length < this.#capacity) this.#steps.push(t);
    else {
      this.#steps[this.#next] = t;
      this.#next = (this.#next + 1) % this.#capacity;
    }
  }

  /** The kept timelines, oldest first. */
  timelines(): StepTimeline[] {
    return [...this.#steps.slice(this.#next), ...this.#steps.slice(0, this.#next)];
  }
}

const COMPUTE_TRACK = 1;
const COMMUNICATION_TRACK = 2;

/**
 * The Chrome trace of one worker's timelines. `pid` identifies the worker in a merged trace; a timeline whose
 * phases are out of order (it was cut short by a failure) is left out rather than drawn wrong.
 */
export function stepTraceFile(worker: string, pid: number, timelines: readonly StepTimeline[]): StepTraceFile {
  const us = (ms: number) => Math.round(ms * 1000);
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid, tid: 0, args: { name: `worker ${worker}` } },
    { name: 'thread_name', ph: 'M', pid, tid: COMPUTE_TRACK, args: { name: 'compute' } },
    { name: 'thread_name', ph: 'M', pid, tid: COMMUNICATION_TRACK, args: { name: 'communication' } },
  ];
  const span = (name: string, tid: number, from: number, to: number, args: Record<string, string | number>) =>
    events.push({ name, cat: 'step', ph: 'X', pid, tid, ts: us(from), dur: Math.max(0, us(to) - us(from)), args });
  for (const t of timelines) {
    if (!isOrdered(t)) continue;
    const args = { step: t.step, rank: t.rank, generation: t.generation };
    if (t.handedOut !== undefined) events.push({ name: 'handed out early', cat: 'step', ph: 'i', s: 't', pid, tid: COMPUTE_TRACK, ts: us(t.handedOut), args });
    span('compute', COMPUTE_TRACK, t.started, t.computed, args);
    // Between compute and the last sum: waits, and the update parts applied as buckets arrived.
    let at = t.computed;
    const parts = t.updateParts ?? [];
    for (let p = 0; p < parts.length; p += 2) {
      if (parts[p]! > at) span('exposed all-reduce', COMPUTE_TRACK, at, parts[p]!, args);
      span('update', COMPUTE_TRACK, parts[p]!, parts[p + 1]!, { ...args, part: p / 2 });
      at = parts[p + 1]!;
    }
    if (t.reduced > at) span('exposed all-reduce', COMPUTE_TRACK, at, t.reduced, args);
    span('update', COMPUTE_TRACK, t.reduced, t.updated, args);
    const first = t.releases[0];
    if (first !== undefined) span('all-reduce', COMMUNICATION_TRACK, first, t.reduced, { ...args, buckets: t.releases.length });
    t.releases.forEach((at, bucket) => events.push({ name: `release bucket ${bucket}`, cat: 'step', ph: 'i', s: 't', pid, tid: COMMUNICATION_TRACK, ts: us(at), args: { ...args, bucket } }));
    span('reply', COMMUNICATION_TRACK, t.replying, t.replied, args);
  }
  return { traceEvents: events, displayTimeUnit: 'ms', otherData: { gradmeshTrace: 1, worker } };
}

/** Whether a timeline's phases follow each other (every phase was reached). */
export function isOrdered(t: StepTimeline): boolean {
  if (!(t.started <= t.computed && t.computed <= t.reduced && t.reduced <= t.updated && t.updated <= t.replying && t.replying <= t.replied)) return false;
  const parts = t.updateParts ?? [];
  if (parts.length % 2 !== 0) return false;
  for (let p = 0, at = t.computed; p < parts.length; p += 2) {
    if (!(at <= parts[p]! && parts[p]! <= parts[p + 1]! && parts[p + 1]! <= t.reduced)) return false;
    at = parts[p + 1]!;
  }
  for (let b = 0; b < t.releases.length; b++) {
    const at = t.releases[b]!;
    if (at < t.started || at > t.reduced || (b > 0 && at < t.releases[b - 1]!)) return false;
  }
  return true;
}
