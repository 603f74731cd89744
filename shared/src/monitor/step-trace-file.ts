import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DataError } from '../errors.js';
import { stepTraceFile, type StepTimeline, type StepTrace, type StepTraceFile, type TraceEvent } from './step-trace.js';

/** Largest trace file `readStepTrace` accepts (a full MAX_TRACED_STEPS trace is ≈ 25 MB). */
export const MAX_TRACE_FILE_BYTES = 256 << 20;

/**
 * Writes a worker's trace (Note [step traces]) to `file`: to a temporary name first, then renamed, so a reader
 * never sees half a file (writeJsonAtomic's way, but synchronous: it runs as the process finishes). Process ids in
 * the trace are the worker's position in a merged trace; 1 here.
 */
export function writeStepTrace(file: string, worker: string, timelines: readonly StepTimeline[]): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(stepTraceFile(worker, 1, timelines)));
  renameSync(temporary, file);
}

/**
 * Writes a finished process's trace whatever the outcome (a failed run's trace is the one most wanted), saying
 * where through `log` — or, when it cannot be written, why: a trace never turns a run's outcome into a failure.
 */
export function saveStepTrace(file: string, worker: string, trace: StepTrace, log: (line: string) => void): void {
  try {
    writeStepTrace(file, worker, trace.timelines());
    log(`${worker}: wrote its step trace to ${file}`);
  } catch (error) {
    log(`${worker}: could not write its step trace to ${file}: ${(error as Error).message}`);
  }
}

/** A worker's trace file, checked: one line naming the file and what is wrong with it otherwise (DataError). */
export function readStepTrace(file: string): StepTraceFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DataError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (text.length > MAX_TRACE_FILE_BYTES) throw new DataError(file, `is ${text.length} bytes, more than a step trace can be (${MAX_TRACE_FILE_BYTES})`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError(file, `is not JSON (${(error as Error).message})`, { hint: 'step traces are written by `gradmesh worker --trace-dir`' });
  }
  const o = value as Partial<StepTraceFile> | null;
  if (typeof o !== 'object' || o === null || o.otherData?.gradmeshTrace !== 1 || typeof o.otherData.worker !== 'string') {
    throw new DataError(file, 'is not a gradmesh step trace (no otherData.gradmeshTrace = 1 and worker)', { hint: 'step traces are written by `gradmesh worker --trace-dir`' });
  }
  if (!Array.isArray(o.traceEvents)) throw new DataError(file, 'traceEvents must be a list');
  o.traceEvents.forEach((e: unknown, i: number) => {
    const problem = eventProblem(e);
    if (problem !== undefined) throw new DataError(file, `traceEvents[${i}]: ${problem}`);
  });
  return o as StepTraceFile;
}

function eventProblem(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return 'must be an object';
  const x = e as Partial<TraceEvent>;
  if (typeof x.name !== 'string' || x.name.length > 200) return 'name must be a short string';
  if (x.ph !== 'X' && x.ph !== 'i' && x.ph !== 'M') return `ph ${JSON.stringify(x.ph)} is not X, i or M`;
  if (!Number.isSafeInteger(x.pid) || !Number.isSafeInteger(x.tid)) return 'pid and tid must be integers';
  if (x.ph === 'M') return undefined;
  if (!Number.isFinite(x.ts) || (x.ph === 'X' && !(Number.isFinite(x.dur) && (x.dur as number) >= 0))) return 'ts (and dur of a complete event) must be finite, dur ≥ 0';
  const step = x.args?.['step'];
  if (!Number.isSafeInteger(step)) return 'args.step must be an integer';
  return undefined;
}
