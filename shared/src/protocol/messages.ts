import { parseCheckpointStep } from '../checkpoint/naming.js';
import { CHECKPOINT_STORE_KINDS, type CheckpointStoreKind } from '../checkpoint/store-spec.js';
import { ConfigError } from '../errors.js';
import { REGRESSION_SUMS } from '../losses/regression-metrics.js';
import {
  anyNumber,
  bool,
  child,
  failAt as fail,
  int,
  isPlainObject,
  numberOrNull,
  numberRecord,
  object,
  optionalBoolean,
  optionalInt,
  rejectUnknownKeys,
  requireNumber,
  requireString,
  type Json,
  type JsonObject,
  type NumberRule,
  type ValidationScope,
} from '../config/validate.js';
import { parseTrainingState, type TrainingState } from '../train/training-state.js';
import { dataAddressOrReason } from './data-address.js';
import { ID_PATTERN, type ControlFamily } from './subjects.js';

/**
 * The control messages of a run (tensors never travel here: see `pieces.ts`). Each kind has a body type, the
 * subject family that carries it, and a validator that turns an untrusted decoded value into the typed body
 * or throws the error of its scope naming the field (`body.rank: must be ≥ 0 (got -1)`): `codec.ts` gives a
 * scope whose error is a ProtocolError naming the subject and the peer.
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
  /**
   * `host:port` where this worker's link listener accepts direct connections from the other ranks
   * (data-address.ts says what is valid). Absent: a worker that offers no listener, which can only take part
   * in a run whose all-reduce goes through NATS.
   */
  readonly dataAddress?: string;
}

/** Coordinator → one worker: its place in generation `generation` of the run. */
export interface AssignBody {
  readonly workerId: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  /**
   * The worker id of each rank of this generation (members[rank] = id): a gradient piece from rank r must come
   * on a subject ending in members[r] (Note [the sender is in the subject] in subjects.ts).
   */
  readonly members: readonly string[];
  /** The run config (model spec, seed, …), opaque to the protocol: any JSON object. */
  readonly config: JsonObject;
  /** Directory the config's relative data paths resolve against (one machine or a shared volume). */
  readonly baseDir?: string;
  /**
   * The run's checkpoint store, by kind only (Note [the store is the worker's]): `nats` = the run's Object
   * Store bucket, `dir` = the directory the worker was started with (`--checkpoint-dir`). Absent: none.
   */
  readonly checkpointStore?: CheckpointStoreKind;
  /** The checkpoint (a name, `ckpt-<step>.safetensors`, in that store) every replica restores before reporting ready (`--resume`). */
  readonly resumeFrom?: string;
  /**
   * The step this generation starts at (the run's last completed step + 1). A replica already there reports
   * ready; one that applied this step before the previous generation ended rolls it back; any other asks for
   * the state of a live replica (`needsState`).
   */
  readonly startStep: number;
  /** The worker exits when it hears no coordinator heartbeat for this long. */
  readonly heartbeatTimeoutMs?: number;
  /** The all-reduce of a step gives up after this long (the coordinator's step timeout). */
  readonly stepTimeoutMs?: number;
  /**
   * Present iff the run's all-reduce transport is `direct` (`training.allreduce.transport`): gradient pieces
   * then travel rank to rank over TCP links and NATS carries control only. Note [links are per generation].
   */
  readonly links?: GenerationLinks;
}

/**
 * Note [links are per generation]
 * `addresses[rank]` is where the member of that rank accepts links (its join's `dataAddress`), one per rank in
 * rank order. `secret` (32 random bytes, drawn by the coordinator for each generation) authenticates the
 * links of THIS generation only: a member of an earlier generation, or anything that learnt an earlier secret,
 * cannot connect into the new one, and a new generation never reuses a link. The secret is binary (msgpack
 * bin) and is never logged or shown in an error.
 */
export interface GenerationLinks {
  readonly addresses: readonly string[];
  readonly secret: Uint8Array;
}

/** The length of a generation's link secret, in bytes. */
export const LINK_SECRET_BYTES = 32;

/**
 * Worker → coordinator (join subject), once per assignment: the replica is built (and restored), its
 * all-reduce subscriptions are registered, and this is what it holds. The coordinator starts the run only
 * when every rank is ready with the same checksum, step and data sizes.
 */
export interface ReadyBody {
  readonly workerId: string;
  readonly rank: number;
  readonly generation: number;
  /** sha256 of the replica's parameters (hex). */
  readonly checksum: string;
  readonly parameters: number;
  /** The replica's optimizer step (0, or the restored checkpoint's). */
  readonly step: number;
  readonly trainCount: number;
  readonly validationCount: number;
  readonly testCount: number;
  readonly classes: number;
  /** The names of the classes when the data named them (string CSV labels): the run's report lists them. */
  readonly classNames?: readonly string[];
  readonly featureSize: number;
  /** The replica is not at the generation's start step and waits for a live replica's state (`shareState`). */
  readonly needsState?: boolean;
  readonly threads: number;
  /**
   * How many steps may be outstanding to this replica at once — the one running and those queued behind it:
   * the steps it can undo (Note [steps are sent ahead] in coordinator/src/cluster-step-driver.ts). Absent: 2.
   */
  readonly stepWindow?: number;
}

/** The most steps a replica may hold outstanding (`ReadyBody.stepWindow`). */
export const MAX_STEP_WINDOW = 16;

/** Coordinator → one worker (its assign subject): you are not needed in this run (e.g. more than N joined). */
export interface DismissBody {
  readonly workerId: string;
  readonly reason: string;
}

/** Worker → coordinator (join subject): this worker leaves the run after the command it is running (SIGTERM). */
export interface LeaveBody {
  readonly workerId: string;
  readonly reason: string;
}

/**
 * Coordinator → all workers (step subject): rank `donor` publishes its replica state (parameters, optimizer
 * state, best-weights snapshot) on the run's state-transfer subject for the workers in `recipients`, who
 * restore it, verify it and report ready again.
 */
export interface ShareStateBody {
  readonly requestId: number;
  readonly donor: number;
  readonly recipients: readonly string[];
}

/**
 * Coordinator → all workers (step subject): generation `generation` has ended (a member was lost or left).
 * Members abandon the command in flight and wait for their assignment in the next generation.
 */
export interface RegroupBody {
  readonly generation: number;
  readonly reason: string;
}

/** Donor → coordinator: the state is published (bytes in chunks; sha256 inside the encoded state). */
export interface StateSharedBody {
  readonly requestId: number;
  readonly rank: number;
  readonly bytes: number;
  readonly chunks: number;
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
  /** The all-reduce from its first bucket's release to its end (overlapping compute when buckets overlap). */
  readonly allreduceMs: number;
  /** The part of the all-reduce after compute ended: what the step waited on communication (≤ allreduceMs). */
  readonly exposedAllreduceMs?: number;
  /** Parameter checksum (hex), when the step asked for one. */
  readonly checksum?: string;
  /** The regularization penalty Σ l1·|θ| + l2·θ² of the update (identical on every rank; the coordinator adds
   *  penalty × global count to the epoch's training loss, as Model.fit does). */
  readonly penalty?: number;
  /** This rank's LOCAL gradient sums (its slots before the all-reduce) held no NaN or ±Infinity. */
  readonly localFinite: boolean;
  /** The all-reduced gradient was not finite, so this replica applied no update (every replica decides alike). */
  readonly skipped: boolean;
  /** The sender's dropped-message counts, when they changed since its last reply (Note [every process's drops]). */
  readonly drops?: DropCounts;
  /** How many peers this rank's pieces reach through shared memory and over the links, once per generation when known (Note [paths in the report]). */
  readonly peerPaths?: PeerPathCounts;
}

/**
 * Note [paths in the report]
 * Over direct links, pieces between ranks of one host go through shared memory (Note [pieces through shared
 * memory] in worker/src/allreduce/shared-memory-piece-transport.ts), decided per pair at run time. A rank learns its
 * paths once every peer has answered its offer, and attaches the counts to its next step reply; the report then
 * says, per worker and for the run, how many of the N(N−1) ordered pairs went through memory.
 */
export interface PeerPathCounts {
  readonly memory: number;
  readonly links: number;
}

/**
 * Note [every process's drops]
 * Each worker counts what it drops (control messages, gradient pieces, state chunks) by kind and reason, and
 * attaches its whole count to its next reply whenever it changed; the coordinator keeps the latest count per
 * worker, so the report holds every process's drops (`droppedMessages`), not only the coordinator's. The counts
 * only grow, so the latest one is the total. Bounded like everything on the wire: at most MAX_DROP_KEYS keys
 * of the form `kind/reason`, safe-integer values.
 */
export type DropCounts = Readonly<Record<string, number>>;
export const MAX_DROP_KEYS = 64;

/** Coordinator → all workers (eval subject): evaluate your shard of a split; reply `evaluated`. */
export interface EvaluateBody {
  readonly requestId: number;
  readonly split: 'validation' | 'test';
  /** Also count a confusion matrix (classification). */
  readonly confusion: boolean;
}

/** Worker → coordinator (step-done subject): SUMS over the rank's shard; the coordinator adds them in rank order. */
export interface EvaluatedBody {
  readonly requestId: number;
  readonly rank: number;
  readonly lossSum: number;
  readonly count: number;
  readonly correct?: number;
  readonly extras: Readonly<Record<string, number>>;
  /** counts[actual][predicted] over the shard. */
  readonly confusion?: readonly (readonly number[])[];
  readonly drops?: DropCounts;
}

/**
 * Coordinator → all workers (step subject): the epoch is over and the coordinator's early-stopping decision.
 * `keepBest`: snapshot the parameters as the best so far (restoreBestWeights); `restoreBest`: put the
 * snapshot back (training is over and the best epoch was not the last).
 */
export interface EpochEndBody {
  readonly requestId: number;
  readonly epoch: number;
  readonly keepBest: boolean;
  readonly restoreBest: boolean;
}

/** Worker → coordinator: epochEnd applied; the parameter checksum after it. */
export interface EpochEndedBody {
  readonly requestId: number;
  readonly rank: number;
  readonly checksum: string;
  readonly drops?: DropCounts;
}

/** The training loop's state (one type, one validator: shared/src/train/training-state.ts). */
export type TrainingStateBody = TrainingState;

/**
 * Coordinator → all workers (step subject): rank 0 writes a checkpoint of this state into the run's store
 * (named in its assignment); others ignore it.
 *
 * Note [the store is the worker's]: no message names a path. A worker writes into the store its own command
 * line gives it (`--checkpoint-dir`) or into the run's bucket on the NATS server it already trusts; the
 * assignment only says which kind. Anything that can publish on the run's subjects could otherwise make rank
 * 0 create directories and write files wherever its user may — the wire carries the kind, a checkpoint name
 * (validated: `ckpt-<step>.safetensors`, so it cannot leave the store) and the state, nothing else.
 */
export interface CheckpointBody {
  readonly requestId: number;
  readonly state: TrainingStateBody;
  /** The run stops at this checkpoint, for this reason (`--max-steps`, `SIGINT`): it is recorded in the checkpoint. */
  readonly stoppedBy?: string;
}

/** Rank 0 → coordinator: the checkpoint is written (atomically); `path` says where, for the log. */
export interface CheckpointedBody {
  readonly requestId: number;
  readonly rank: number;
  readonly path: string;
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
  /**
   * The failure is the worker's input (its data files, its --threads): the user must fix it on that machine,
   * and waiting for the worker to come back cannot help, so the coordinator stops the run with exit 2.
   */
  readonly input?: true;
}

export interface MessageBodies {
  join: JoinBody;
  assign: AssignBody;
  heartbeat: HeartbeatBody;
  step: StepBody;
  stepDone: StepDoneBody;
  shutdown: ShutdownBody;
  error: ErrorBody;
  ready: ReadyBody;
  dismiss: DismissBody;
  evaluate: EvaluateBody;
  evaluated: EvaluatedBody;
  epochEnd: EpochEndBody;
  epochEnded: EpochEndedBody;
  checkpoint: CheckpointBody;
  checkpointed: CheckpointedBody;
  leave: LeaveBody;
  shareState: ShareStateBody;
  stateShared: StateSharedBody;
  regroup: RegroupBody;
}

export type MessageKind = keyof MessageBodies;

export interface KindSpec<B> {
  /** The subject family that carries this kind (a message of this kind on another family is rejected). */
  readonly family: ControlFamily;
  /** Validates a decoded body; throws the scope's error (see validate.ts) naming the field. */
  readonly validate: (body: JsonObject, scope: ValidationScope) => B;
}

// ---- field validators (on top of config/validate.ts; they throw the scope's error) ------------------------------------------------------

const U32 = 0xffffffff;
const MAX_RANK = 0xffff;
const MAX_TEXT = 4096;
const MAX_CONFIG_DEPTH = 64;

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

function storeKind(obj: JsonObject, key: string, scope: ValidationScope): CheckpointStoreKind {
  const v = requireString(obj, key, scope);
  if (!(CHECKPOINT_STORE_KINDS as readonly string[]).includes(v)) fail(scope, key, `must be one of ${CHECKPOINT_STORE_KINDS.join(', ')}`, v);
  return v as CheckpointStoreKind;
}

function checkpointName(obj: JsonObject, key: string, scope: ValidationScope): string {
  const v = requireString(obj, key, scope);
  if (parseCheckpointStep(v) === undefined) fail(scope, key, 'must be a checkpoint name, ckpt-<step>.safetensors', v.slice(0, 80));
  return v;
}

function dataAddress(obj: JsonObject, key: string | number, scope: ValidationScope): string {
  const v = obj[key];
  const parsed = dataAddressOrReason(v);
  if (typeof parsed === 'string') fail(scope, key, parsed, typeof v === 'string' ? v.slice(0, 80) : v);
  return v as string;
}

/** An assignment's links (Note [links are per generation]): one valid address per rank and a 32-byte secret. */
function generationLinks(obj: JsonObject, key: string, scope: ValidationScope, worldSize: number): GenerationLinks {
  const links = object(obj, key, scope);
  const s = child(scope, key);
  rejectUnknownKeys(links, ['addresses', 'secret'], s);
  const addresses = links['addresses'];
  if (!Array.isArray(addresses) || addresses.length !== worldSize) fail(s, 'addresses', `must be an array of ${worldSize} data addresses (one per rank)`, Array.isArray(addresses) ? addresses.length : addresses);
  const list = addresses.map((_, i) => dataAddress(addresses as unknown as JsonObject, i, child(s, 'addresses')));
  if (!('secret' in links)) fail(s, 'secret', 'is required');
  const secret: unknown = links['secret'];
  // The value is never shown: it is a secret (only its type or length is).
  if (!(secret instanceof Uint8Array)) fail(s, 'secret', `must be ${LINK_SECRET_BYTES} bytes (msgpack bin)`, typeof secret);
  if (secret.length !== LINK_SECRET_BYTES) fail(s, 'secret', `must be exactly ${LINK_SECRET_BYTES} bytes`, `${secret.length} bytes`);
  // A copy: msgpackr decodes bin as a Buffer viewing the whole message's bytes; this keeps 32 bytes, as a plain Uint8Array.
  return { addresses: list, secret: Uint8Array.from(secret) };
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

const MAX_CLASSES = 4096;
const HEX_CHECKSUM = /^[0-9a-f]{1,128}$/;

function checksum(obj: JsonObject, key: string, scope: ValidationScope): string {
  const v = requireString(obj, key, scope);
  if (!HEX_CHECKSUM.test(v)) fail(scope, key, 'must be a lowercase hex checksum', v);
  return v;
}

function confusionCounts(obj: JsonObject, key: string, scope: ValidationScope): number[][] {
  const v = obj[key];
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_CLASSES) fail(scope, key, `must be a square array of 1–${MAX_CLASSES} rows`);
  const n = v.length;
  return v.map((row, a) => {
    if (!Array.isArray(row) || row.length !== n) fail(scope, `${key}[${a}]`, `must be an array of ${n} counts`);
    return row.map((c, p) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) fail(scope, `${key}[${a}][${p}]`, 'must be a count ≥ 0', c);
      return c;
    });
  });
}

/**
 * An evaluation's confusion counts, bounded by the reply's own sample count: every cell ≤ count, the cells sum
 * to count, and the diagonal equals `correct` — so no reply can make the receiver add up more samples than it
 * claims to have evaluated (or a count like 1e300).
 */
function confusionOf(b: JsonObject, s: ValidationScope, count: number, correct: number | undefined): number[][] {
  const matrix = confusionCounts(b, 'confusion', s);
  let total = 0;
  let diagonal = 0;
  matrix.forEach((row, a) =>
    row.forEach((c, p) => {
      if (c > count) fail(s, `confusion[${a}][${p}]`, `must be at most the reply's count (${count})`, c);
      total += c;
      if (a === p) diagonal += c;
    }),
  );
  if (total !== count) fail(s, 'confusion', `counts must add up to the reply's count (${count})`, total);
  if (correct !== undefined && diagonal !== correct) fail(s, 'confusion', `the diagonal must equal correct (${correct})`, diagonal);
  return matrix;
}

/**
 * An evaluation's regression sums (Note [R² from four sums] in losses/regression-metrics.ts), when the reply has
 * any: all four, finite, the error and square sums ≥ 0, and (Σt)² ≤ count·Σt² (Cauchy–Schwarz) — a reply whose
 * sums no set of `count` real targets could produce is refused rather than merged into the run's R².
 */
function regressionSumsOf(extras: Record<string, number>, s: ValidationScope, count: number): void {
  const present = REGRESSION_SUMS.filter((k) => k in extras);
  if (present.length === 0) return;
  if (present.length !== REGRESSION_SUMS.length) fail(s, 'extras', `must hold all of the regression sums ${REGRESSION_SUMS.join(', ')} or none`, present.join(', '));
  for (const k of REGRESSION_SUMS) {
    const v = extras[k]!;
    if (!Number.isFinite(v)) fail(s, `extras.${k}`, 'must be a finite number', v);
    if (k !== 'target' && v < 0) fail(s, `extras.${k}`, 'must be ≥ 0', v);
  }
  const sum = extras['target']!;
  if (sum * sum > count * extras['targetSquared']! * (1 + 1e-9) + 1e-300) fail(s, 'extras.target', `is impossible with targetSquared ${extras['targetSquared']} over ${count} samples`, sum);
}

function regressionChecked(extras: Record<string, number>, s: ValidationScope, count: number): Record<string, number> {
  regressionSumsOf(extras, s, count);
  return extras;
}

const MAX_CLASS_NAME = 256;

/** A ready reply's class names: one per class, each a string of 1–256 characters. */
function classNamesOf(b: JsonObject, s: ValidationScope, classes: number): string[] {
  const v = b['classNames'];
  if (!Array.isArray(v) || v.length !== classes) fail(s, 'classNames', `must be an array of one name per class (${classes})`);
  return v.map((name, i) => {
    if (typeof name !== 'string' || name.length < 1 || name.length > MAX_CLASS_NAME) fail(s, `classNames[${i}]`, `must be a string of 1–${MAX_CLASS_NAME} characters`, typeof name === 'string' ? name.slice(0, 40) : name);
    return name;
  });
}

/** `dismiss` and `leave`: a worker id and why. */
function dropCounts(obj: JsonObject, key: string, scope: ValidationScope): DropCounts {
  const v = obj[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(scope, key, 'must be an object of drop counts', v);
  const entries = Object.entries(v as JsonObject);
  if (entries.length > MAX_DROP_KEYS) fail(scope, key, `must have at most ${MAX_DROP_KEYS} entries`, entries.length);
  const out: Record<string, number> = {};
  for (const [name, n] of entries) {
    if (!/^[A-Za-z][A-Za-z0-9-]{0,31}\/[a-z][a-z-]{0,31}$/.test(name)) fail(scope, key, 'keys must be "kind/reason"', name);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(scope, `${key}.${name}`, 'must be a non-negative integer', n);
    out[name] = n;
  }
  return out;
}

/** Note [paths in the report]: two counts of peers, together at most a run's largest world. */
function peerPathCounts(obj: JsonObject, key: string, scope: ValidationScope): PeerPathCounts {
  const o = object(obj, key, scope);
  const inner = child(scope, key);
  rejectUnknownKeys(o, ['memory', 'links'], inner);
  const memory = int(o, 'memory', inner, { min: 0, max: MAX_RANK });
  const links = int(o, 'links', inner, { min: 0, max: MAX_RANK - memory });
  return { memory, links };
}

function workerAndReason(b: JsonObject, s: ValidationScope): { workerId: string; reason: string } {
  rejectUnknownKeys(b, ['workerId', 'reason'], s);
  return { workerId: id(b, 'workerId', s), reason: text(b, 'reason', s, 512) };
}

function trainingState(obj: JsonObject, key: string, scope: ValidationScope): TrainingStateBody {
  return parseTrainingState(object(obj, key, scope), child(scope, key), 'message');
}

// ---- the kinds ---------------------------------------------------------------------------------------------

export const MESSAGE_KINDS: { readonly [K in MessageKind]: KindSpec<MessageBodies[K]> } = {
  join: {
    family: 'join',
    validate(b, s) {
      rejectUnknownKeys(b, ['workerId', 'pid', 'host', 'threads', 'dataAddress'], s);
      return {
        workerId: id(b, 'workerId', s),
        pid: int(b, 'pid', s, { min: 1 }),
        host: text(b, 'host', s, 255),
        threads: int(b, 'threads', s, { min: 1, max: 1024 }),
        ...('dataAddress' in b ? { dataAddress: dataAddress(b, 'dataAddress', s) } : {}),
      };
    },
  },
  assign: {
    family: 'assign',
    validate(b, s) {
      rejectUnknownKeys(b, ['workerId', 'rank', 'worldSize', 'generation', 'members', 'config', 'baseDir', 'checkpointStore', 'resumeFrom', 'startStep', 'heartbeatTimeoutMs', 'stepTimeoutMs', 'links'], s);
      const worldSize = int(b, 'worldSize', s, { min: 1, max: MAX_RANK + 1 });
      const workerId = id(b, 'workerId', s);
      const rank = int(b, 'rank', s, { min: 0, max: worldSize - 1 });
      const members = b['members'];
      if (!Array.isArray(members) || members.length !== worldSize) fail(s, 'members', `must be an array of ${worldSize} worker ids (one per rank)`, Array.isArray(members) ? members.length : members);
      const ids = members.map((_, i) => id(members as unknown as JsonObject, String(i), child(s, 'members')));
      if (ids[rank] !== workerId) fail(s, 'members', `rank ${rank} must be the assigned worker "${workerId}"`, ids[rank]);
      if (new Set(ids).size !== ids.length) fail(s, 'members', 'worker ids must be distinct', ids.join(','));
      return {
        workerId,
        rank,
        worldSize,
        members: ids,
        generation: int(b, 'generation', s, { min: 0, max: U32 }),
        config: jsonObject(b, 'config', s),
        ...('baseDir' in b ? { baseDir: text(b, 'baseDir', s) } : {}),
        ...('checkpointStore' in b ? { checkpointStore: storeKind(b, 'checkpointStore', s) } : {}),
        ...('resumeFrom' in b ? { resumeFrom: checkpointName(b, 'resumeFrom', s) } : {}),
        startStep: int(b, 'startStep', s, { min: 0, max: U32 }),
        ...('heartbeatTimeoutMs' in b ? { heartbeatTimeoutMs: int(b, 'heartbeatTimeoutMs', s, { min: 1, max: U32 }) } : {}),
        ...('stepTimeoutMs' in b ? { stepTimeoutMs: int(b, 'stepTimeoutMs', s, { min: 1, max: U32 }) } : {}),
        ...('links' in b ? { links: generationLinks(b, 'links', s, worldSize) } : {}),
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
      rejectUnknownKeys(b, ['step', 'rank', 'lossSum', 'count', 'correct', 'extras', 'computeMs', 'allreduceMs', 'exposedAllreduceMs', 'checksum', 'penalty', 'localFinite', 'skipped', 'drops', 'peerPaths'], s);
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
        localFinite: bool(b, 'localFinite', s),
        skipped: bool(b, 'skipped', s),
        ...(correct === undefined ? {} : { correct }),
        ...('exposedAllreduceMs' in b ? { exposedAllreduceMs: requireNumber(b, 'exposedAllreduceMs', s, { min: 0 }) } : {}),
        ...('checksum' in b ? { checksum: checksum(b, 'checksum', s) } : {}),
        ...('penalty' in b ? { penalty: anyNumber(b, 'penalty', s) } : {}),
        ...('drops' in b ? { drops: dropCounts(b, 'drops', s) } : {}),
        ...('peerPaths' in b ? { peerPaths: peerPathCounts(b, 'peerPaths', s) } : {}),
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
      rejectUnknownKeys(b, ['rank', 'step', 'message', 'input'], s);
      return { rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }), step: int(b, 'step', s, { min: -1, max: U32 }), message: text(b, 'message', s), ...(b['input'] === true ? { input: true as const } : {}) };
    },
  },
  // Replies of workers travel on the step-done subject (the coordinator's inbox); commands to all workers on
  // the step subject (training steps and epoch bookkeeping) or the eval subject; `ready` joins the join subject.
  // The coordinator waits for every reply before it sends the next command, so no order between subjects is
  // relied on.
  ready: {
    family: 'join',
    validate(b, s) {
      rejectUnknownKeys(b, ['workerId', 'rank', 'generation', 'checksum', 'parameters', 'step', 'trainCount', 'validationCount', 'testCount', 'classes', 'classNames', 'featureSize', 'threads', 'needsState', 'stepWindow'], s);
      const classes = int(b, 'classes', s, { min: 1, max: MAX_CLASSES });
      return {
        workerId: id(b, 'workerId', s),
        rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }),
        generation: int(b, 'generation', s, { min: 0, max: U32 }),
        checksum: checksum(b, 'checksum', s),
        parameters: int(b, 'parameters', s, { min: 0 }),
        step: int(b, 'step', s, { min: 0, max: U32 }),
        trainCount: int(b, 'trainCount', s, { min: 0 }),
        validationCount: int(b, 'validationCount', s, { min: 0 }),
        testCount: int(b, 'testCount', s, { min: 0 }),
        classes,
        ...('classNames' in b ? { classNames: classNamesOf(b, s, classes) } : {}),
        featureSize: int(b, 'featureSize', s, { min: 1 }),
        threads: int(b, 'threads', s, { min: 1, max: 1024 }),
        ...(b['needsState'] === true ? { needsState: true } : {}),
        ...('stepWindow' in b ? { stepWindow: int(b, 'stepWindow', s, { min: 1, max: MAX_STEP_WINDOW }) } : {}),
      };
    },
  },
  dismiss: {
    family: 'assign',
    validate: workerAndReason,
  },
  evaluate: {
    family: 'eval',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'split', 'confusion'], s);
      const split = requireString(b, 'split', s);
      if (split !== 'validation' && split !== 'test') fail(s, 'split', 'must be "validation" or "test"', split);
      return { requestId: int(b, 'requestId', s, { min: 0, max: U32 }), split, confusion: bool(b, 'confusion', s) };
    },
  },
  evaluated: {
    family: 'step-done',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'rank', 'lossSum', 'count', 'correct', 'extras', 'confusion', 'drops'], s);
      const count = int(b, 'count', s, { min: 0 });
      const correct = optionalInt(b, 'correct', s, { min: 0, max: count });
      return {
        requestId: int(b, 'requestId', s, { min: 0, max: U32 }),
        rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }),
        lossSum: anyNumber(b, 'lossSum', s),
        count,
        extras: regressionChecked(numberRecord(b, 'extras', s), s, count),
        ...(correct === undefined ? {} : { correct }),
        ...('confusion' in b ? { confusion: confusionOf(b, s, count, correct) } : {}),
        ...('drops' in b ? { drops: dropCounts(b, 'drops', s) } : {}),
      };
    },
  },
  epochEnd: {
    family: 'step',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'epoch', 'keepBest', 'restoreBest'], s);
      return { requestId: int(b, 'requestId', s, { min: 0, max: U32 }), epoch: int(b, 'epoch', s, { min: 0 }), keepBest: bool(b, 'keepBest', s), restoreBest: bool(b, 'restoreBest', s) };
    },
  },
  epochEnded: {
    family: 'step-done',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'rank', 'checksum', 'drops'], s);
      return {
        requestId: int(b, 'requestId', s, { min: 0, max: U32 }),
        rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }),
        checksum: checksum(b, 'checksum', s),
        ...('drops' in b ? { drops: dropCounts(b, 'drops', s) } : {}),
      };
    },
  },
  checkpoint: {
    family: 'step',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'state', 'stoppedBy'], s);
      const stoppedBy = 'stoppedBy' in b ? text(b, 'stoppedBy', s, 100) : undefined;
      return { requestId: int(b, 'requestId', s, { min: 0, max: U32 }), state: trainingState(b, 'state', s), ...(stoppedBy === undefined ? {} : { stoppedBy }) };
    },
  },
  checkpointed: {
    family: 'step-done',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'rank', 'path'], s);
      return { requestId: int(b, 'requestId', s, { min: 0, max: U32 }), rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }), path: text(b, 'path', s) };
    },
  },
  leave: {
    family: 'join',
    validate: workerAndReason,
  },
  shareState: {
    family: 'step',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'donor', 'recipients'], s);
      const recipients = b['recipients'];
      if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > MAX_RANK) fail(s, 'recipients', 'must be a non-empty array of worker ids', recipients);
      return {
        requestId: int(b, 'requestId', s, { min: 0, max: U32 }),
        donor: int(b, 'donor', s, { min: 0, max: MAX_RANK }),
        recipients: recipients.map((_, i) => id(recipients as unknown as JsonObject, String(i), child(s, 'recipients'))),
      };
    },
  },
  regroup: {
    family: 'step',
    validate(b, s) {
      rejectUnknownKeys(b, ['generation', 'reason'], s);
      return { generation: int(b, 'generation', s, { min: 0, max: U32 }), reason: text(b, 'reason', s) };
    },
  },
  stateShared: {
    family: 'step-done',
    validate(b, s) {
      rejectUnknownKeys(b, ['requestId', 'rank', 'bytes', 'chunks'], s);
      return {
        requestId: int(b, 'requestId', s, { min: 0, max: U32 }),
        rank: int(b, 'rank', s, { min: 0, max: MAX_RANK }),
        bytes: int(b, 'bytes', s, { min: 0 }),
        chunks: int(b, 'chunks', s, { min: 1, max: U32 }),
      };
    },
  },
};

export function isMessageKind(kind: unknown): kind is MessageKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(MESSAGE_KINDS, kind);
}
