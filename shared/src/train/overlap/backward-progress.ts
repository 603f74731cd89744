/**
 * Note [gradients final]
 * A pool thread tells the main thread how far backward has come for its micro-batch through one Int32 cell of a
 * SharedArrayBuffer: the cell holds the lowest slot element from which every slot of the micro-batch's buffer is
 * final — `parameterCount` before backward, 0 when it is done. Layers report their slot range when their backward
 * returns; the mark moves down only over a contiguous run of finished ranges, so a model whose backward does not
 * finish layers in exact reverse layout order (a VAE's two heads) is still reported correctly, just later. The
 * thread stores with Atomics.store and wakes the main thread with Atomics.notify; the main thread waits with
 * Atomics.waitAsync (gradient-stream.ts), so its event loop stays free for the all-reduce.
 *
 * Note [wake only at bucket starts]: the main thread waits for a mark to reach the start of the next bucket, not
 * for any move, so the thread notifies only when the mark reaches or passes one of the bucket starts it was given
 * (every move is still stored). Each notify wakes the main thread through the event loop (an eventfd write, an
 * epoll wake-up, V8's futex mutex); when a worker's main and compute threads share one core (`launch --cpu-bind
 * cores`) each wake-up is also a context switch away from backward. A CNN with two buckets and four layers with
 * parameters thus wakes it twice a step instead of five times. Without starts (tests, older callers) every
 * move notifies, as before.
 */
export class BackwardProgress {
  readonly #cells: Int32Array;
  readonly #cell: number;
  /** Ranges not finished yet, keyed by their end (ranges tile [0, parameterCount)). */
  readonly #finished = new Map<number, number>();
  #mark: number;
  /** The bucket starts in release order (descending); wakes happen when the mark reaches starts[#next]. */
  readonly #starts: readonly number[] | undefined;
  #next = 0;

  constructor(cells: Int32Array, cell: number, parameterCount: number, bucketStarts?: readonly number[]) {
    this.#cells = cells;
    this.#cell = cell;
    this.#mark = parameterCount;
    this.#starts = bucketStarts;
    Atomics.store(cells, cell, parameterCount);
  }

  /** Whether moving the mark to `mark` passes a bucket start not passed before (Note [wake only at bucket starts]). */
  #crosses(mark: number): boolean {
    const starts = this.#starts;
    if (starts === undefined) return true;
    let crossed = false;
    while (this.#next < starts.length && mark <= starts[this.#next]!) {
      this.#next++;
      crossed = true;
    }
    return crossed;
  }

  /** The slots [start, end) are final. */
  done(start: number, end: number): void {
    if (end <= start) return;
    this.#finished.set(end, start);
    let mark = this.#mark;
    for (let from = this.#finished.get(mark); from !== undefined; from = this.#finished.get(mark)) {
      this.#finished.delete(mark);
      mark = from;
    }
    if (mark === this.#mark) return;
    this.#mark = mark;
    Atomics.store(this.#cells, this.#cell, mark);
    if (this.#crosses(mark)) Atomics.notify(this.#cells, this.#cell);
  }

  /** Everything is final (the micro-batch's task is over, whatever its layers reported). */
  finish(): void {
    if (this.#mark === 0) return;
    this.#mark = 0;
    Atomics.store(this.#cells, this.#cell, 0);
    this.#crosses(0);
    Atomics.notify(this.#cells, this.#cell);
  }
}
