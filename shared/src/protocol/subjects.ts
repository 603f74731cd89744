import { ConfigError } from '../errors.js';

/**
 * NATS subjects of one gradmesh run. Everything a run publishes lives under `gradmesh.<run>.`, so several
 * runs share one NATS server without seeing each other's traffic (`gradmesh.<run>.>` is the whole run).
 *
 * Note [data subjects carry the destination, the header carries the metadata]
 * Gradient pieces go to `gradmesh.<run>.rs.<owner>` (reduce-scatter: a piece of chunk `owner`, sent to its
 * owner) and `gradmesh.<run>.ag.<owner>` (all-gather: a reduced piece of chunk `owner`, sent by its owner).
 * The generation, step, source rank and piece index travel in a 16-byte little-endian header in front of the
 * float32 bytes (`pieces.ts`), not in the subject, because:
 *  - the subscriptions are fixed for the life of an all-reduce instance (N subjects, created once), so the
 *    server's routing never depends on the step and no per-step SUB/UNSUB traffic exists;
 *  - the header costs no copy of the values: a sender publishes it as a separate 16-byte part in front of a
 *    view of the gradient vector (Note [sending straight from the vector] in worker/src/allreduce/rsag.ts),
 *    or writes it at the front of the recycled frame it builds the piece in; and reading 16 bytes with a
 *    DataView is cheaper and stricter than splitting and parsing a subject string per message;
 *  - a stale or foreign-generation message still reaches the subscriber, where it is counted and dropped —
 *    which is what the protocol promises to observe — instead of vanishing silently in the server.
 * The price: a piece's payload is `max_payload − 16` bytes at most (1 MiB − 16 with the default server).
 */

/** A run id (and a worker id): one NATS subject token, safe in file names too. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const SUBJECT_ROOT = 'gradmesh';

/** Validates a run id where it enters (CLI, config, message); throws ConfigError naming `field`. */
export function validateRunId(run: unknown, field = 'run'): string {
  if (typeof run !== 'string' || !ID_PATTERN.test(run)) {
    throw new ConfigError(field, 'must be 1–64 characters of A–Z, a–z, 0–9, "_" or "-"', {
      value: run,
      hint: 'it becomes a NATS subject token, so dots, spaces and wildcards are not allowed',
    });
  }
  return run;
}

/** Validates a worker id (it becomes the last token of the worker's assign subject). */
export function validateWorkerId(workerId: unknown, field = 'workerId'): string {
  return validateRunId(workerId, field);
}

function rankToken(rank: number, field: string): string {
  if (!Number.isInteger(rank) || rank < 0 || rank > 0xffff) {
    throw new ConfigError(field, 'must be an integer rank in [0, 65535]', { value: rank });
  }
  return String(rank);
}

/** `gradmesh.<run>` — the prefix of everything the run publishes. */
export function runPrefix(run: string): string {
  return `${SUBJECT_ROOT}.${validateRunId(run)}`;
}

/** Every subject of the run (for monitoring / tests that watch the whole run). */
export function runWildcard(run: string): string {
  return `${runPrefix(run)}.>`;
}

// ---- control subjects: one function per family ----------------------------------------------------------

/** The control families, i.e. the token after the run id. `rs`/`ag` are data, never control. */
export const CONTROL_FAMILIES = ['join', 'assign', 'heartbeat', 'step', 'step-done', 'eval', 'shutdown', 'error'] as const;
export type ControlFamily = (typeof CONTROL_FAMILIES)[number];

/** Worker → coordinator: "I am here". */
export function joinSubject(run: string): string {
  return `${runPrefix(run)}.join`;
}

/** Coordinator → one worker: its rank, world size, generation and config. */
export function assignSubject(run: string, workerId: string): string {
  return `${runPrefix(run)}.assign.${validateWorkerId(workerId)}`;
}

/** Heartbeats flow both ways; the last token says who listens (`coordinator` or `workers`). */
export type HeartbeatAudience = 'coordinator' | 'workers';
export function heartbeatSubject(run: string, audience: HeartbeatAudience): string {
  return `${runPrefix(run)}.heartbeat.${audience}`;
}

/** Coordinator → all workers: run this step. */
export function stepSubject(run: string): string {
  return `${runPrefix(run)}.step`;
}

/** Worker → coordinator: this step is done (loss, counts, timings, checksum). */
export function stepDoneSubject(run: string): string {
  return `${runPrefix(run)}.step-done`;
}

/** Evaluation requests/results, decided once and broadcast (message kinds are defined by the run loop). */
export function evalSubject(run: string): string {
  return `${runPrefix(run)}.eval`;
}

/** Coordinator → all workers: stop now. */
export function shutdownSubject(run: string): string {
  return `${runPrefix(run)}.shutdown`;
}

/** Worker → coordinator: a fatal error on a rank. */
export function errorSubject(run: string): string {
  return `${runPrefix(run)}.error`;
}

/**
 * Anyone → coordinator: "where does the run stand?" — a NATS request answered with a RunStatus in JSON
 * (Note [status over NATS] in status.ts). Not a control family: no control envelope travels here.
 */
export function statusSubject(run: string): string {
  return `${runPrefix(run)}.status`;
}

export interface ParsedControlSubject {
  readonly run: string;
  readonly family: ControlFamily;
  /** The token after the family, e.g. the worker id of `assign.<workerId>` or the heartbeat audience. */
  readonly target: string | undefined;
}

/** Parses a control subject; `undefined` when it is not one (wrong root, bad run id, unknown family). */
export function parseControlSubject(subject: string): ParsedControlSubject | undefined {
  const tokens = subject.split('.');
  if (tokens.length < 3 || tokens.length > 4 || tokens[0] !== SUBJECT_ROOT) return undefined;
  const run = tokens[1] as string;
  const family = tokens[2] as string;
  if (!ID_PATTERN.test(run) || !(CONTROL_FAMILIES as readonly string[]).includes(family)) return undefined;
  const target = tokens[3];
  const needsTarget = family === 'assign' || family === 'heartbeat';
  if (needsTarget !== (target !== undefined)) return undefined;
  if (family === 'assign' && !ID_PATTERN.test(target as string)) return undefined;
  if (family === 'heartbeat' && target !== 'coordinator' && target !== 'workers') return undefined;
  return { run, family: family as ControlFamily, target };
}

/**
 * A live replica's state for the workers joining a generation (raw bytes in chunks, see
 * worker/src/state-transfer.ts); only workers waiting for a state subscribe to it.
 */
export function stateTransferSubject(run: string): string {
  return `${runPrefix(run)}.state`;
}

// ---- data subjects ----------------------------------------------------------------------------------------

/** The two data families. `a2a` is the all-to-all exchange of the test oracle (`tests/helpers/naive-allreduce.ts`). */
export type DataFamily = 'rs' | 'ag' | 'a2a';

/** Reduce-scatter: pieces of chunk `owner`, sent by every other rank to the chunk's owner. */
export function reduceScatterSubject(run: string, owner: number): string {
  return `${runPrefix(run)}.rs.${rankToken(owner, 'owner')}`;
}

/** All-gather: reduced pieces of chunk `owner`, published by the owner to every other rank. */
export function allGatherSubject(run: string, owner: number): string {
  return `${runPrefix(run)}.ag.${rankToken(owner, 'owner')}`;
}

/** The naive all-to-all oracle: every piece of rank `source`'s whole vector, to everyone. Tests only. */
export function allToAllSubject(run: string, source: number): string {
  return `${runPrefix(run)}.a2a.${rankToken(source, 'source')}`;
}

export interface ParsedDataSubject {
  readonly run: string;
  readonly family: DataFamily;
  /** The chunk owner (`rs`, `ag`) or the source rank (`a2a`). */
  readonly rank: number;
}

/** Parses a data subject; `undefined` when it is not one. */
export function parseDataSubject(subject: string): ParsedDataSubject | undefined {
  const tokens = subject.split('.');
  if (tokens.length !== 4 || tokens[0] !== SUBJECT_ROOT) return undefined;
  const [, run, family, rank] = tokens as [string, string, string, string];
  if (!ID_PATTERN.test(run) || (family !== 'rs' && family !== 'ag' && family !== 'a2a')) return undefined;
  if (!/^(0|[1-9][0-9]{0,4})$/.test(rank) || Number(rank) > 0xffff) return undefined;
  return { run, family, rank: Number(rank) };
}
