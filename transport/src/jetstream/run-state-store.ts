import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import {
  ClusterError,
  describeField,
  failAt,
  int,
  isPlainObject,
  parseCheckpointStep,
  rejectUnknownKeys,
  requireString,
  validateWorkerId,
  type JsonObject,
  type ValidationScope,
} from '@gradmesh/shared/internal';
import { runStateBucket, workersBucket } from './bucket-names.js';
import { bucketError } from './jetstream-error.js';
import { jetStreamOf } from './jetstream-client.js';

/** Where a run stands, as the coordinator last recorded it (at each generation change and checkpoint). */
export interface RunRecord {
  readonly generation: number;
  /** Ranks in the generation. */
  readonly world: number;
  /** The number of optimizer steps completed (the next step to run). */
  readonly committedStep: number;
  /** The newest checkpoint's name in the run's checkpoint store (`ckpt-<step>.safetensors`), or null. */
  readonly latestCheckpoint: string | null;
  /** The run ended (completed or stopped by its coordinator); absent in records of a run in progress. */
  readonly finished?: boolean;
}

/** What a worker says about itself when it registers. */
export interface WorkerRegistration {
  readonly workerId: string;
  readonly pid: number;
  readonly host: string;
}

/** How long a registration lives without a refresh (default): a few missed heartbeats, not one. */
export const DEFAULT_WORKER_TTL_MS = 30_000;
const RUN_KEY = 'run';

/**
 * A run's rendezvous state in JetStream KV, like torchrun's rendezvous store: the coordinator's record of the
 * run (bucket `gradmesh-<run>-state`, key `run`), and one key per live worker (bucket
 * `gradmesh-<run>-workers`) that its heartbeat refreshes. A restarted coordinator reads both to continue.
 *
 * Note [registration TTL]: a key expires `workerTtlMs` after its last refresh because the workers bucket has
 * that max age — the server deletes expired entries itself, so a worker that died without a word disappears
 * from `workers()` on its own. Per-key TTLs (JetStream's per-message TTL) need nats-server ≥ 2.11; a bucket
 * of its own with a bucket-wide age works on the 2.9 servers Debian ships. The age is fixed when the bucket
 * is created; the first process of the run to open it sets it.
 *
 * Both buckets hold untrusted bytes (anything with access to the account can write them): `read()` and
 * `workers()` validate what they return, and an entry that does not validate is an error (read) or skipped
 * (workers).
 */
export class RunStateStore {
  readonly #state: KV;
  readonly #workers: KV;
  readonly runId: string;

  private constructor(runId: string, state: KV, workers: KV) {
    this.runId = runId;
    this.#state = state;
    this.#workers = workers;
  }

  static async open(nc: NatsConnection, runId: string, options: { workerTtlMs?: number } = {}): Promise<RunStateStore> {
    const kvm = new Kvm(jetStreamOf(nc));
    const open = async (bucket: string, opts: { ttl?: number }) => {
      try {
        return await kvm.create(bucket, { history: 1, ...opts });
      } catch (cause) {
        throw bucketError(bucket, 'run state', cause);
      }
    };
    const state = await open(runStateBucket(runId), {});
    const workers = await open(workersBucket(runId), { ttl: options.workerTtlMs ?? DEFAULT_WORKER_TTL_MS });
    return new RunStateStore(runId, state, workers);
  }

  async record(record: RunRecord): Promise<void> {
    await this.#state.put(RUN_KEY, JSON.stringify(parseRunRecord(record as unknown as JsonObject, this.#scope())));
  }

  /** The last record, or undefined before the first. */
  async read(): Promise<RunRecord | undefined> {
    const entry = await this.#state.get(RUN_KEY);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    let json: unknown;
    try {
      json = entry.json();
    } catch {
      throw this.#error('', 'is not JSON', {});
    }
    if (!isPlainObject(json)) throw this.#error('', 'must be a JSON object', {});
    return parseRunRecord(json, this.#scope());
  }

  /** Registers (or refreshes) a worker; call it with every heartbeat. */
  async registerWorker(registration: WorkerRegistration): Promise<void> {
    const workerId = validateWorkerId(registration.workerId);
    await this.#workers.put(workerId, JSON.stringify({ workerId, pid: registration.pid, host: registration.host }));
  }

  /** A worker leaving on purpose removes its key at once instead of waiting for it to expire. */
  async deregisterWorker(workerId: string): Promise<void> {
    await this.#workers.delete(validateWorkerId(workerId));
  }

  /** The workers whose registration has not expired, by id. */
  async workers(): Promise<WorkerRegistration[]> {
    const ids: string[] = [];
    for await (const key of await this.#workers.keys()) ids.push(key);
    const live: WorkerRegistration[] = [];
    for (const id of ids.sort()) {
      const entry = await this.#workers.get(id);
      if (entry === null || entry.operation !== 'PUT') continue;
      const registration = parseRegistration(id, entry.string());
      if (registration !== undefined) live.push(registration);
    }
    return live;
  }

  #scope(): ValidationScope {
    return { path: '', error: (field, message, details) => this.#error(field, message, details) };
  }

  #error(field: string, message: string, details: { value?: unknown }): ClusterError {
    const where = `${runStateBucket(this.runId)}/${RUN_KEY}`;
    return new ClusterError(`run state ${where}: ${field ? describeField(field, message, details) : message}`, {
      hint: 'the bucket was written by something other than a gradmesh coordinator of this run; delete it or use another --run',
    });
  }
}

function parseRunRecord(json: JsonObject, scope: ValidationScope): RunRecord {
  rejectUnknownKeys(json, ['generation', 'world', 'committedStep', 'latestCheckpoint', 'finished'], scope);
  const latest = json['latestCheckpoint'];
  if (latest !== null && (typeof latest !== 'string' || parseCheckpointStep(latest) === undefined)) {
    failAt(scope, 'latestCheckpoint', 'must be null or a checkpoint name (ckpt-<step>.safetensors)', latest);
  }
  return {
    generation: int(json, 'generation', scope, { min: 0 }),
    world: int(json, 'world', scope, { min: 0 }),
    committedStep: int(json, 'committedStep', scope, { min: 0 }),
    latestCheckpoint: latest ?? null,
    ...(json['finished'] === true ? { finished: true } : {}),
  };
}

function parseRegistration(key: string, text: string): WorkerRegistration | undefined {
  try {
    const json: unknown = JSON.parse(text);
    if (!isPlainObject(json)) return undefined;
    const scope: ValidationScope = { path: '', error: (field, message) => new ClusterError(`worker registration ${key}: ${field} ${message}`) };
    const workerId = validateWorkerId(requireString(json, 'workerId', scope));
    if (workerId !== key) return undefined;
    return { workerId, pid: int(json, 'pid', scope, { min: 0 }), host: requireString(json, 'host', scope).slice(0, 255) };
  } catch {
    return undefined;
  }
}
