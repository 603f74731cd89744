import { ClusterError, InternalError, type JoinBody } from '@gradmesh/shared/internal';

/** A worker that has joined (and is still heard from). */
export interface JoinedWorker {
  readonly workerId: string;
  readonly pid: number;
  readonly host: string;
  readonly threads: number;
  /** Where its link listener accepts direct links (its join's `dataAddress`), when it offered one. */
  readonly dataAddress?: string;
}

export interface Member extends JoinedWorker {
  readonly rank: number;
}

/** Generation `generation` of a run: who holds which rank. */
export interface Generation {
  readonly generation: number;
  readonly worldSize: number;
  /** Index = rank. */
  readonly members: readonly Member[];
}

/** What the coordinator keeps of a join. */
export function joinedWorker(body: JoinBody): JoinedWorker {
  return { workerId: body.workerId, pid: body.pid, host: body.host, threads: body.threads, ...(body.dataAddress === undefined ? {} : { dataAddress: body.dataAddress }) };
}

/**
 * Note [deterministic ranks]
 * Ranks are a pure function of WHO joined, not of when: the joined workers are sorted by worker id (UTF-16
 * code-unit order, locale-independent) and the first `worldSize` get ranks 0..N−1; the rest are extras
 * (told to go away). The same set of workers therefore always gets the same ranks, whatever the order in
 * which their joins arrived — which makes a rerun (and a `--resume` with the same ids) reproducible, and is
 * what a later elastic generation will recompute from the surviving set.
 */
export function assignRanks(joined: readonly JoinedWorker[], worldSize: number, generation: number): { generation: Generation; extras: JoinedWorker[] } {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new InternalError(`assignRanks: worldSize must be a positive integer, got ${worldSize}`);
  if (joined.length < worldSize) throw new InternalError(`assignRanks: ${joined.length} workers cannot fill ${worldSize} ranks`);
  const sorted = [...joined].sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
  return {
    generation: { generation, worldSize, members: sorted.slice(0, worldSize).map((w, rank) => ({ ...w, rank })) },
    extras: sorted.slice(worldSize),
  };
}

/**
 * The workers that have joined, by id. A repeated join of the same process (joins are retried every second
 * until the assignment arrives) is recognised; a join with a known id from ANOTHER process is a
 * configuration error (two workers started with the same --id would share one assign subject).
 */
export class Roster {
  readonly #workers = new Map<string, JoinedWorker>();

  /** Records a join; returns whether the worker is new. Throws ClusterError on a conflicting id. */
  join(body: JoinBody): boolean {
    const known = this.#workers.get(body.workerId);
    if (known === undefined) {
      this.#workers.set(body.workerId, joinedWorker(body));
      return true;
    }
    if (known.pid !== body.pid || known.host !== body.host) {
      throw new ClusterError(`two workers joined with the id "${body.workerId}" (pid ${known.pid} on ${known.host}, and pid ${body.pid} on ${body.host})`, {
        worker: body.workerId,
        hint: 'give every worker a unique --id, or leave --id out (the default is <host>-<pid>)',
      });
    }
    return false;
  }

  /** Forgets a worker (it went silent before the run started). */
  leave(workerId: string): void {
    this.#workers.delete(workerId);
  }

  get size(): number {
    return this.#workers.size;
  }

  ids(): string[] {
    return [...this.#workers.keys()].sort();
  }

  all(): JoinedWorker[] {
    return [...this.#workers.values()];
  }
}
