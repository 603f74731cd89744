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

/**
 * Note [the sender is in the subject]
 * nats-server tells a subscriber nothing about who published a message, but it does enforce per-identity
 * publish permissions on subjects. So every subject a worker publishes on ends in the worker's id —
 * `join.<id>`, `heartbeat.coordinator.<id>`, `step-done.<id>`, `error.<id>`, `state.<id>`, `rs.<owner>.<id>`,
 * `ag.<owner>.<id>` — and each worker identity may publish only on subjects ending in its own id
 * (transport/src/nats-server/run-permissions.ts). The receivers then hold the message to that proven sender:
 * a control envelope's `from` must equal the subject's last token (`decodeControl`), and a gradient piece's
 * source rank must be the rank the coordinator assigned to that id in this generation (`rsag.ts`). With
 * authorization on, worker w1 therefore cannot speak as w0, nor send rank 0's pieces; the coordinator binds
 * each rank to the identity it joined with. (Without authorization, `--insecure`, the checks remain but
 * nothing stops a client from publishing on any subject.)
 */
export const ANY_SENDER = '*';

function senderToken(sender: string): string {
  return sender === ANY_SENDER ? ANY_SENDER : validateWorkerId(sender, 'sender');
}

/** Every subject of the run (for monitoring / tests that watch the whole run). */
export function runWildcard(run: string): string {
  return `${runPrefix(run)}.>`;
}

// ---- control subjects: one function per family ----------------------------------------------------------

/** The control families, i.e. the token after the run id. `rs`/`ag` are data, never control. */
export const CONTROL_FAMILIES = ['join', 'assign', 'heartbeat', 'step', 'step-done', 'eval', 'shutdown', 'error'] as const;
export type ControlFamily = (typeof CONTROL_FAMILIES)[number];

/** Worker `sender` → coordinator: "I am here" (join, ready, leave); `ANY_SENDER` to listen to all. */
export function joinSubject(run: string, sender: string): string {
  return `${runPrefix(run)}.join.${senderToken(sender)}`;
}

/** Coordinator → one worker: its rank, world size, generation and config. */
export function assignSubject(run: string, workerId: string): string {
  return `${runPrefix(run)}.assign.${validateWorkerId(workerId)}`;
}

/**
 * Heartbeats flow both ways; the token after `heartbeat` says who listens (`coordinator` or `workers`). A
 * worker's heartbeat to the coordinator ends in its id (`sender`, or `ANY_SENDER` to listen to all).
 */
export type HeartbeatAudience = 'coordinator' | 'workers';
export function heartbeatSubject(run: string, audience: 'workers'): string;
export function heartbeatSubject(run: string, audience: 'coordinator', sender: string): string;
export function heartbeatSubject(run: string, audience: HeartbeatAudience, sender?: string): string {
  if (audience === 'workers') return `${runPrefix(run)}.heartbeat.workers`;
  return `${runPrefix(run)}.heartbeat.coordinator.${senderToken(sender ?? '')}`;
}

/** Coordinator → all workers: run this step. */
export function stepSubject(run: string): string {
  return `${runPrefix(run)}.step`;
}

/** Worker `sender` → coordinator: replies (this step is done, evaluated, …); `ANY_SENDER` to listen to all. */
export function stepDoneSubject(run: string, sender: string): string {
  return `${runPrefix(run)}.step-done.${senderToken(sender)}`;
}

/** Evaluation requests/results, decided once and broadcast (message kinds are defined by the run loop). */
export function evalSubject(run: string): string {
  return `${runPrefix(run)}.eval`;
}

/** Coordinator → all workers: stop now. */
export function shutdownSubject(run: string): string {
  return `${runPrefix(run)}.shutdown`;
}

/** Worker `sender` → coordinator: a fatal error on a rank. */
export function errorSubject(run: string, sender: string): string {
  return `${runPrefix(run)}.error.${senderToken(sender)}`;
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
  /** The publishing worker's id on the subjects workers publish (Note [the sender is in the subject]). */
  readonly sender: string | undefined;
}

/** Families a worker publishes on, each ending in the sender's id. */
const SENT_BY_WORKERS: ReadonlySet<string> = new Set(['join', 'step-done', 'error']);

/** Parses a control subject; `undefined` when it is not one (wrong root, bad run id, unknown family, bad tokens). */
export function parseControlSubject(subject: string): ParsedControlSubject | undefined {
  const tokens = subject.split('.');
  if (tokens.length < 3 || tokens.length > 5 || tokens[0] !== SUBJECT_ROOT) return undefined;
  const run = tokens[1] as string;
  const family = tokens[2] as string;
  if (!ID_PATTERN.test(run) || !(CONTROL_FAMILIES as readonly string[]).includes(family)) return undefined;
  const rest = tokens.slice(3);
  const id = (t: string | undefined): t is string => t !== undefined && ID_PATTERN.test(t);
  if (SENT_BY_WORKERS.has(family)) return rest.length === 1 && id(rest[0]) ? { run, family: family as ControlFamily, target: undefined, sender: rest[0] } : undefined;
  if (family === 'assign') return rest.length === 1 && id(rest[0]) ? { run, family, target: rest[0], sender: undefined } : undefined;
  if (family === 'heartbeat') {
    if (rest.length === 1 && rest[0] === 'workers') return { run, family, target: 'workers', sender: undefined };
    if (rest.length === 2 && rest[0] === 'coordinator' && id(rest[1])) return { run, family, target: 'coordinator', sender: rest[1] };
    return undefined;
  }
  return rest.length === 0 ? { run, family: family as ControlFamily, target: undefined, sender: undefined } : undefined;
}

/**
 * A live replica's state for the workers joining a generation (raw bytes in chunks, see
 * worker/src/state-transfer.ts); only workers waiting for a state subscribe to it.
 */
export function stateTransferSubject(run: string, sender: string): string {
  return `${runPrefix(run)}.state.${senderToken(sender)}`;
}

// ---- data subjects ----------------------------------------------------------------------------------------

/** The two data families. `a2a` is the all-to-all exchange of the test oracle (`tests/helpers/naive-allreduce.ts`). */
export type DataFamily = 'rs' | 'ag' | 'a2a';

/** Reduce-scatter: pieces of chunk `owner`, sent by every other rank (worker id `sender`) to the chunk's owner. */
export function reduceScatterSubject(run: string, owner: number, sender: string): string {
  return `${runPrefix(run)}.rs.${rankToken(owner, 'owner')}.${senderToken(sender)}`;
}

/** All-gather: reduced pieces of chunk `owner`, published by the owner (worker id `sender`) to every other rank. */
export function allGatherSubject(run: string, owner: number, sender: string): string {
  return `${runPrefix(run)}.ag.${rankToken(owner, 'owner')}.${senderToken(sender)}`;
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
  /** The publishing worker's id (`rs`, `ag`; Note [the sender is in the subject]). */
  readonly sender: string | undefined;
}

/** Parses a data subject; `undefined` when it is not one. */
export function parseDataSubject(subject: string): ParsedDataSubject | undefined {
  const tokens = subject.split('.');
  if (tokens[0] !== SUBJECT_ROOT) return undefined;
  const [, run, family, rank, sender] = tokens as [string, string, string, string, string | undefined];
  if (tokens.length !== (family === 'a2a' ? 4 : 5)) return undefined;
  if (!ID_PATTERN.test(run) || (family !== 'rs' && family !== 'ag' && family !== 'a2a')) return undefined;
  if (!/^(0|[1-9][0-9]{0,4})$/.test(rank) || Number(rank) > 0xffff) return undefined;
  if (sender !== undefined && !ID_PATTERN.test(sender)) return undefined;
  return { run, family, rank: Number(rank), sender };
}

/** The last token of a subject: the sender of a worker-published message. */
export function subjectSender(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
