import { ClusterError, InternalError, type DropReason, type MessageBodies } from '@gradmesh/shared/internal';

/** The replies a coordinator command waits for, and the field that ties a reply to its command. */
export type ReplyKind = 'stepDone' | 'evaluated' | 'epochEnded' | 'checkpointed' | 'stateShared';

export interface BarrierWait {
  readonly kind: ReplyKind;
  /** The step (stepDone) or request id (the others) of the command. */
  readonly key: number;
  /** Ranks that must reply. */
  readonly ranks: readonly number[];
  readonly timeoutMs: number;
  /** For messages: "step 12", "the validation evaluation after epoch 3", … */
  readonly what: string;
  /** The step the run is at (for the error's context). */
  readonly step: number;
  /**
   * The run's bounds on a reply's numbers (Note [replies are bounded by the run] in cluster-step-driver.ts):
   * the problem in words, or undefined when the reply is within them. A reply out of bounds is not taken.
   */
  readonly bound?: (rank: number, body: unknown) => string | undefined;
}

/** A reply that was not taken: why, for the drop counter; `detail` for a reply out of the run's bounds. */
export type Rejection = DropReason | { readonly reason: 'out-of-bounds'; readonly detail: string };

/**
 * The barrier every coordinator command ends in: it resolves when each expected rank has replied, in rank
 * order, and rejects with a ClusterError naming the missing ranks when `timeoutMs` passes first — or at once
 * when `abort` is called (a worker died, reported an error, the connection was lost). Only one wait is open
 * at a time: the coordinator waits for one command's replies after another (command, all replies, next
 * command's replies), which is also why it never depends on the order of messages across subjects.
 *
 * Steps sent ahead (Note [steps are sent ahead] in cluster-step-driver.ts) may be answered before their waits
 * open: `expect` names each such command, whose replies are then held, checked like any other, until its
 * `wait` takes them; `forgetExpected` drops them all (the commands were abandoned with their generation).
 *
 * `deliver` says what to do with a reply that matches nothing (stale, duplicate or unexpected), so the
 * caller can count it as a drop: a late reply to a finished command is harmless.
 */
export class StepBarrier {
  readonly #workerOf: (rank: number) => string | undefined;
  #open:
    | {
        readonly wait: BarrierWait;
        readonly replies: Map<number, unknown>;
        readonly resolve: (replies: unknown[]) => void;
        readonly reject: (error: Error) => void;
        readonly timer: NodeJS.Timeout;
      }
    | undefined;
  /** The commands sent ahead, by kind and key, and the replies each has had before its wait opened. */
  readonly #expected = new Map<string, { readonly wait: Omit<BarrierWait, 'timeoutMs'>; readonly replies: Map<number, unknown> }>();

  constructor(workerOf: (rank: number) => string | undefined) {
    this.#workerOf = workerOf;
  }

  wait<K extends ReplyKind>(wait: BarrierWait & { kind: K }): Promise<MessageBodies[K][]> {
    if (this.#open !== undefined) return Promise.reject(new InternalError(`StepBarrier: waiting for ${wait.what} while ${this.#open.wait.what} is still open`));
    const id = expectedId(wait.kind, wait.key);
    const early = this.#expected.get(id)?.replies ?? new Map<number, unknown>();
    this.#expected.delete(id);
    return new Promise<MessageBodies[K][]>((resolve, reject) => {
      const timer = setTimeout(() => this.#close(this.#timeoutError(wait)), wait.timeoutMs);
      const replies = new Map<number, unknown>();
      for (const [rank, body] of early) if (wait.ranks.includes(rank)) replies.set(rank, body);
      this.#open = { wait, replies, resolve: resolve as (r: unknown[]) => void, reject, timer };
      if (replies.size === wait.ranks.length) this.#close(undefined);
    });
  }

  /**
   * Holds the replies to a command that was sent before its wait opens (a later call for the same command
   * replaces the earlier expectation). Its replies are checked on arrival (`ranks`, duplicates, `bound`) as in
   * a wait.
   */
  expect(wait: Omit<BarrierWait, 'timeoutMs'>): void {
    this.#expected.set(expectedId(wait.kind, wait.key), { wait, replies: new Map() });
  }

  /** Drops every command expected ahead and whatever replies they had (their generation ended). */
  forgetExpected(): void {
    this.#expected.clear();
  }

  /** How many commands are expected ahead (sent, their waits not yet open). */
  get expectedCount(): number {
    return this.#expected.size;
  }

  /** Offers a reply; returns undefined when it was taken, else why not. */
  deliver(kind: ReplyKind, key: number, rank: number, body: unknown): Rejection | undefined {
    const open = this.#open;
    const target = open !== undefined && open.wait.kind === kind && open.wait.key === key ? open : this.#expected.get(expectedId(kind, key));
    if (target === undefined) return 'stale-step';
    if (!target.wait.ranks.includes(rank)) return 'malformed';
    if (target.replies.has(rank)) return 'duplicate';
    const problem = target.wait.bound?.(rank, body);
    if (problem !== undefined) return { reason: 'out-of-bounds', detail: problem };
    target.replies.set(rank, body);
    if (target === open && open.replies.size === open.wait.ranks.length) this.#close(undefined);
    return undefined;
  }

  /** Fails the open wait (if any) with `error`; the commands expected ahead are dropped with it. */
  abort(error: Error): void {
    this.#expected.clear();
    if (this.#open !== undefined) this.#close(error);
  }

  /** Ranks that have not replied to the open wait. */
  missing(): number[] {
    const open = this.#open;
    return open === undefined ? [] : open.wait.ranks.filter((r) => !open.replies.has(r));
  }

  #close(error: Error | undefined): void {
    const open = this.#open!;
    this.#open = undefined;
    clearTimeout(open.timer);
    if (error !== undefined) open.reject(error);
    else open.resolve([...open.wait.ranks].sort((a, b) => a - b).map((r) => open.replies.get(r)));
  }

  #timeoutError(wait: BarrierWait): ReplyTimedOut {
    const open = this.#open!;
    const missing = wait.ranks.filter((r) => !open.replies.has(r));
    const names = missing.map((r) => `rank ${r}${this.#workerOf(r) ? ` (worker ${this.#workerOf(r)})` : ''}`);
    const first = missing[0]!;
    const worker = this.#workerOf(first);
    return new ReplyTimedOut(missing, `${wait.what}: no reply from ${names.join(', ')} within ${wait.timeoutMs / 1000} s`, {
      rank: first,
      step: wait.step,
      ...(worker === undefined ? {} : { worker }),
      hint: 'the worker is stalled or overloaded; raise --step-timeout if steps are legitimately this slow, and resume from the last checkpoint',
    });
  }
}

function expectedId(kind: ReplyKind, key: number): string {
  return `${kind} ${key}`;
}

/** A command's replies did not all arrive in time; `missing` are the ranks that did not answer. */
export class ReplyTimedOut extends ClusterError {
  constructor(
    readonly missing: readonly number[],
    message: string,
    options: ConstructorParameters<typeof ClusterError>[1],
  ) {
    super(message, options);
  }
}
