import { ProtocolError } from '../errors.js';
import { child, failAt, int, isPlainObject, numberOrNull, requireString, type JsonObject, type ValidationScope } from '../config/validate.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * Note [status over NATS]
 * `gradmesh status` asks a running coordinator where its run stands: a NATS request on
 * `gradmesh.<run>.status` (statusSubject), answered from the coordinator's run feed with one RunStatus as
 * UTF-8 JSON. It is request/reply rather than a periodic broadcast so an idle run costs nothing and the
 * answer is always current; JSON rather than a control envelope so `nats req gradmesh.<run>.status ''`
 * reads it too, and so it never enters the control channel's generation filter. The reply is untrusted input
 * for the status command: parseRunStatus checks it where it enters.
 */

export const RUN_STATES = ['forming', 'running', 'completed', 'failed', 'interrupted'] as const;
export type RunState = (typeof RUN_STATES)[number];

/**
 * `ok`: a member stepping; `lagging`: its last step's compute is far above the world's median; `waiting`: joined,
 * holds no rank; `lost`: went silent or failed (elastic runs go on without it); `left`: left on purpose;
 * `failed`: the run stopped because of it; `dismissed`: not needed.
 */
export const WORKER_HEALTHS = ['waiting', 'ok', 'lagging', 'lost', 'left', 'failed', 'dismissed'] as const;
export type WorkerHealth = (typeof WORKER_HEALTHS)[number];

export interface WorkerStatus {
  readonly rank: number | null;
  readonly worker: string;
  readonly health: WorkerHealth;
  readonly steps: number;
  /** Mean milliseconds per step of compute, all-reduce and wait over the run so far. */
  readonly computeMs: number | null;
  readonly allreduceMs: number | null;
  readonly waitMs: number | null;
}

export interface RunStatus {
  readonly v: number;
  readonly run: string;
  readonly state: RunState;
  readonly world: number;
  readonly generation: number;
  readonly step: number;
  /** 1-based epoch in progress (or the last one). */
  readonly epoch: number;
  readonly epochs: number;
  /** Running mean training loss of the epoch in progress. */
  readonly loss: number | null;
  readonly samplesPerSec: number | null;
  /** Milliseconds since the Unix epoch when the answer was made. */
  readonly time: number;
  readonly workers: readonly WorkerStatus[];
}

/** The most workers one status answer lists (it stays far below NATS' max_payload). */
export const MAX_STATUS_WORKERS = 1024;

export function encodeRunStatus(status: RunStatus): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(status));
}

/** Decodes and validates a status reply; throws ProtocolError naming the subject and the field. */
export function decodeRunStatus(subject: string, bytes: Uint8Array): RunStatus {
  const scope: ValidationScope = { path: 'status', error: (field, message) => new ProtocolError(subject, `${field}: ${message}`) };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ProtocolError(subject, 'the status reply is not JSON');
  }
  return parseRunStatus(value, scope);
}

export function parseRunStatus(value: unknown, scope: ValidationScope): RunStatus {
  if (!isPlainObject(value)) failAt(scope, 'body', 'must be a map');
  const o = value;
  const v = int(o, 'v', scope, { min: 0 });
  if (v !== PROTOCOL_VERSION) failAt(scope, 'v', `is protocol version ${v}; this gradmesh speaks ${PROTOCOL_VERSION}`);
  const workers = o['workers'];
  if (!Array.isArray(workers) || workers.length > MAX_STATUS_WORKERS) failAt(scope, 'workers', `must be a list of at most ${MAX_STATUS_WORKERS}`);
  const at = child(scope, 'workers');
  return {
    v,
    run: requireString(o, 'run', scope),
    state: oneOf(o, 'state', RUN_STATES, scope),
    world: int(o, 'world', scope, { min: 0 }),
    generation: int(o, 'generation', scope, { min: 0 }),
    step: int(o, 'step', scope, { min: 0 }),
    epoch: int(o, 'epoch', scope, { min: 0 }),
    epochs: int(o, 'epochs', scope, { min: 0 }),
    loss: numberOrNull(o, 'loss', scope),
    samplesPerSec: numberOrNull(o, 'samplesPerSec', scope),
    time: int(o, 'time', scope, { min: 0 }),
    workers: workers.map((w, i) => parseWorkerStatus(w, child(at, i))),
  };
}

function parseWorkerStatus(value: unknown, scope: ValidationScope): WorkerStatus {
  if (!isPlainObject(value)) failAt(scope, 'body', 'must be a map');
  return {
    rank: value['rank'] === null ? null : int(value, 'rank', scope, { min: 0 }),
    worker: requireString(value, 'worker', scope),
    health: oneOf(value, 'health', WORKER_HEALTHS, scope),
    steps: int(value, 'steps', scope, { min: 0 }),
    computeMs: numberOrNull(value, 'computeMs', scope),
    allreduceMs: numberOrNull(value, 'allreduceMs', scope),
    waitMs: numberOrNull(value, 'waitMs', scope),
  };
}

function oneOf<T extends string>(o: JsonObject, key: string, allowed: readonly T[], scope: ValidationScope): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) failAt(scope, key, `must be one of ${allowed.join(', ')}`, v);
  return v as T;
}
