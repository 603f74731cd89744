import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { NatsCredentials } from '../credentials.js';

/** What the heartbeat thread publishes, written by the main thread into shared memory (no messages needed). */
export interface HeartbeatThreadOptions {
  readonly natsUrl: string;
  readonly runId: string;
  readonly workerId: string;
  readonly subject: string;
  readonly periodMs: number;
  /** The worker's identity; plain data, cloned into the thread (never argv or a message). */
  readonly credentials?: NatsCredentials;
}

const RANK = 0;
const STEP = 1;
const GENERATION = 2;
const STOP = 3;

/**
 * A worker's heartbeats, sent from a thread of their own with their own NATS connection, so they keep
 * flowing while the main thread computes (the reference backend runs on it), loads data or evaluates: the
 * coordinator's liveness check then measures whether the PROCESS is alive; a main thread that is stuck is
 * caught by the step, evaluation and checkpoint timeouts instead. The main thread updates rank, step and
 * generation through a SharedArrayBuffer; the thread reads them at each beat.
 */
export class HeartbeatThread {
  readonly #state = new Int32Array(new SharedArrayBuffer(4 * 4));
  readonly #thread: Worker;
  readonly #exited: Promise<void>;

  constructor(options: HeartbeatThreadOptions) {
    this.#state[RANK] = -1;
    this.#state[STEP] = -1;
    this.#thread = new Worker(new URL(threadEntry()), { workerData: { ...options, state: this.#state } });
    this.#thread.unref();
    this.#exited = new Promise((resolve) => this.#thread.once('exit', () => resolve()));
    this.#thread.on('error', () => undefined);
  }

  /** Sets what the next heartbeats say. */
  update(rank: number, step: number, generation: number): void {
    Atomics.store(this.#state, RANK, rank);
    Atomics.store(this.#state, STEP, step);
    Atomics.store(this.#state, GENERATION, generation);
  }

  /** Stops the heartbeats (the thread closes its connection and exits), at most `timeoutMs`. */
  async stop(timeoutMs = 2_000): Promise<void> {
    Atomics.store(this.#state, STOP, 1);
    Atomics.notify(this.#state, STOP);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.#thread.terminate().catch(() => undefined);
  }
}

/** The compiled thread entry beside this file in dist (from src, when tests run the sources, the dist one). */
function threadEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.ts') ? here.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`).replace(/\.ts$/, '.js') : here;
  return pathToFileURL(path.join(path.dirname(compiled), 'heartbeat-thread-main.js')).href;
}
