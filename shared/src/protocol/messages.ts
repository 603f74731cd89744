import { ConfigError } from '../errors.js';
import {
  isObject,
  optionalBoolean,
  rejectUnknownKeys,
  requireNumber,
  requireString,
  type Json,
  type JsonObject,
  type NumberRule,
  type ValidationScope,
} from '../config/validate.js';
import { ID_PATTERN, type ControlFamily } from './subjects.js';

/**
 * The control messages of a run (tensors never travel here: see `pieces.ts`). Each kind has a body type, the
 * subject family that carries it, and a validator that turns an untrusted decoded value into the typed body
 * or throws ConfigError naming the field (`body.rank: must be ≥ 0 (got -1)`); `codec.ts` turns that into a
 * ProtocolError naming the subject and the peer.
 *
 * To add a kind: declare its body interface, add it to `MessageBodies`, and add its entry to `MESSAGE_KINDS`
 * (the compiler insists on the last step).
 */

/** Worker → coordinator. */
export interface JoinBody {
  readonly workerId: string;
  readonly pid: number;
  readonly host: string;
  /** Compute threads the worker will use. */
  readonly threads: number;
}

/** Coordinator → one worker: its place in generation `generation` of the run. */
export interface AssignBody {
  readonly workerId: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  /** The run config (model spec, seed, …), opaque to the protocol: any JSON object. */
  readonly config: JsonObject;
}

/** Either way, periodically. */
export interface HeartbeatBody {
  /** Absent before the worker has a rank. */
  readonly rank?: number;
  readonly workerId: string;
  /** The last step the sender started; −1 before the first. */
  readonly step: number;
}

/** Coordinator → all workers: run global batch `batchIndex` of `epoch` as step `step` with learning rate `lr`. */
export interface StepBody {
  readonly step: number;
  readonly epoch: number;
  readonly batchIndex: number;
  readonly lr: number;
  /** Replicas report a parameter checksum after this step (every K steps and at the end). */
  readonly checksum?: boolean;
}

/** Worker → coordinator. Loss and metrics are SUMS over the rank's samples; the coordinator divides once. */
export interface StepDoneBody {
  readonly step: number;
  readonly rank: number;
  /** Any number, NaN and ±Infinity included: a diverged loss must reach the coordinator, which stops the run. */
  readonly lossSum: number;
  readonly count: number;
  readonly correct?: number;
  readonly extras: Readonly<Record<string, number>>;
  readonly computeMs: number;
  readonly allreduceMs: number;
  /** Parameter checksum (hex), when the step asked for one. */
  readonly checksum?: string;
}

/** Coordinator → all workers: stop. */
export interface ShutdownBody {
  /** Why, in a word or a sentence (e.g. `completed`, `interrupted`, `worker 3 died`). */
  readonly reason: string;
  readonly error?: string;
}

/** Worker → coordinator: a fatal error on a rank. */
export interface ErrorBody {
  readonly rank: number;
  /** The step it happened in; −1 outside a step. */
  readonly step: number;
  readonly message: string;
}

export interface MessageBodies {
  join: JoinBody;
  assign: AssignBody;
  heartbeat: HeartbeatBody;
  step: StepBody;
  stepDone: StepDoneBody;
  shutdown: ShutdownBody;
  error: ErrorBody;
}

export type MessageKind = keyof MessageBodies;

export interface KindSpec<B> {
  /** The subject family that carries this kind (a message of this kind on another family is rejected). */
  readonly family: ControlFamily;
  /** Validates a decoded body; throws ConfigError naming the field. */
  readonly validate: (body: JsonObject, scope: ValidationScope) => B;
}

// ---- field validators (on top of config/validate.ts) ------------------------------------------------------

const U32 = 0xffffffff;
const MAX_RANK = 0xffff;
const MAX_TEXT = 4096;
const MAX_EXTRAS = 64;
const MAX_CONFIG_DEPTH = 64;

function fail(scope: ValidationScope, key: string, message: string, value?: unknown): never {
  const path = scope.path ? `${scope.path}.${key}` : key;
  throw new ConfigError(path, message, arguments.length >= 4 ? { value } : {});
}

function int(obj: JsonObject, key: string, scope: ValidationScope, rule: NumberRule): number {
  return requireNumber(obj, key, scope, { ...rule, integer: true });
}

function optionalInt(obj: JsonObject, key: string, scope: ValidationScope, rule: NumberRule): number | undefined {
  return key in obj ? int(obj, key, scope, rule) : undefined;
}

function id(obj: JsonObject, key: string, scope: ValidationScope): string {
  const v = requireString(obj, key, scope);
  if (!ID_PATTERN.test(v)) fail(scope, key, 'must be 1–64 characters of A–Z, a–z, 0–9, "_" or "-"', v);
  return v;
}

function text(obj: JsonObject, key: string, scope: ValidationScope, max = MAX_TEXT): string {
  const v = requireString(obj, key, scope);
  if (v.length > max) fail(scope, key, `must be at most ${max} characters`, `${v.slice(0, 40)}…`);
  return v;
}

/** Any JS number (NaN and ±Infinity included), for values whose divergence the receiver must see. */
function anyNumber(obj: JsonObject, key: string, scope: ValidationScope): number {
  if (!(key in obj)) fail(scope, key, 'is required');
  const v = obj[key];
  if (typeof v !== 'number') fail(scope, key, 'must be a number', v);
  return v;
}

/** A plain object (not an array, Map, Buffer or class instance that msgpackr might hand back). */
export function isPlainObject(v: unknown): v is JsonObject {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isJson(v: unknown, depth: number): v is Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depth >= MAX_CONFIG_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  return isPlainObject(v) && Object.values(v).every((x) => isJson(x, depth + 1));
}

function jsonObject(obj: JsonObject, key: string, scope: ValidationScope): JsonObject {
  if (!(key in obj)) fail(scope, key, 'is required');
  const v = obj[key];
  if (!isPlainObject(v) || !isJson(v, 0)) fail(scope, key, `must be a JSON object (plain objects, arrays, strings, finite numbers, booleans, null; depth ≤ ${MAX_CONFIG_DEPTH})`);
  return v;
}

function numberRecord(obj: JsonObject, key: string, scope: ValidationScope): Record<string, number> {
  if (!(key in obj)) fail(scope, key, 'is required');
  const v = obj[key];
  if (!isPlainObject(v)) fail(scope, key, 'must be an object of numbers', v);
  const entries = Object.entries(v);
  if (entries.length > MAX_EXTRAS) fail(scope, key, `must have at most ${MAX_EXTRAS} entries`, entries.length);
  const out: Record<string, number> = {};
  for (const [name, value] of entries) {
    if (name.length === 0 || name.length > 64) fail(scope, `${key}.${name}`, 'name must be 1–64 characters');
    if (typeof value !== 'number') fail(scope, `${key}.${name}`, 'must be a number', value);
    out[name] = value;
  }
  return out;
}

// ---- the kinds ---------------------------------------------------------------------------------------------

export const MESSAGE_KINDS: { readonly [K in MessageKind]: KindSpec<MessageBodies[K]> } = {
  join: {
    family: 'join',
    validate(b, s) {
      rejectUnknownKeys(b, ['workerId', 'pid', 'host', 'threads'], s);
      return { workerId: id(b, 'workerId', s), pid: int(b, 'pid', s, { min: 1 }), host: text(b, 'host', s, 255), threads: int(b, 'threads', s, { min: 1, max: 1024 }) };
    },
  },
  assign: {
    family: 'assign',
    validate(b, s) {
      rejectUnknownKeys(b, ['workerId', 'rank', 'worldSize', 'generation', 'config'], s);
      const worldSize = int(b, 'worldSize', s, { min: 1, max: MAX_RANK + 1 });
      return {
        workerId: id(b, 'workerId', s),
        rank: int(b, 'rank', s, { min: 0, max: worldSize - 1 }),
        worldSize,
        generation: int(b, 'generation', s, { min: 0, max: U32 }),
        config: jsonObject(b, 'config', s),
      };
    },
  },
  heartbeat: {
    family: 'heartbeat',
    validate(b, s) {
      rejectUnknownKeys(b, ['rank', 'workerId', 'step'], s);
      const rank = optionalInt(b, 'rank', s, { min: 0, max: MAX_RANK });
      const body = { workerId: id(b, 'workerId', s), step: int(b, 'step', s, { min: -1, max: U32 }) };
      return rank === undefined ? body : { rank, ...body };
    },
  },
  step: {
    family: 'step',
    validate(b, s) {
      rejectUnknownKeys(b, ['step', 'epoch', 'batchIndex', 'lr', 'checksum'], s);
      const body = {
        step: int(b, 'step', s, { min: 0, max: U32 }),
        epoch: int(b, 'epoch', s, { min: 0 }),
        batchIndex: int(b, 'batchIndex', s, { min: 0 }),
        lr: requireNumber(b, 'lr', s, { min: 0 }),
      };
      return 'checksum' in b ? { ...body, checksum: optionalBoolean(b, 'checksum', s, false) } : body;
    },
  },
  stepDone: {
    family: 'step-done',
    validate(b, s) {
      rejectUnknownKeys(b, ['step', 'rank', 'lossSum', 'count', 'correct', 'extras', 'computeMs', 'allreduceMs', 'checksum'], s);
      const count = int(b, 'count', s, { min: 0 });
      const correct = optionalInt(b, 'correct', s, { min: 0, max: count });
      const body: StepDoneBody = {
        step: int(b, 'step', s, { min: 0, max: U32 }),
        rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }),
        lossSum: anyNumber(b, 'lossSum', s),
        count,
        extras: numberRecord(b, 'extras', s),
        computeMs: requireNumber(b, 'computeMs', s, { min: 0 }),
        allreduceMs: requireNumber(b, 'allreduceMs', s, { min: 0 }),
        ...(correct === undefined ? {} : { correct }),
        ...('checksum' in b ? { checksum: text(b, 'checksum', s, 128) } : {}),
      };
      return body;
    },
  },
  shutdown: {
    family: 'shutdown',
    validate(b, s) {
      rejectUnknownKeys(b, ['reason', 'error'], s);
      const reason = text(b, 'reason', s, 256);
      return 'error' in b ? { reason, error: text(b, 'error', s) } : { reason };
    },
  },
  error: {
    family: 'error',
    validate(b, s) {
      rejectUnknownKeys(b, ['rank', 'step', 'message'], s);
      return { rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }), step: int(b, 'step', s, { min: -1, max: U32 }), message: text(b, 'message', s) };
    },
  },
};

export function isMessageKind(kind: unknown): kind is MessageKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(MESSAGE_KINDS, kind);
}
