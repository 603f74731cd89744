/**
 * Note [gradients final]
 * A pool thread tells the main thread how far backward has come for its micro-batch through one Int32 cell of a
 * SharedArrayBuffer: the cell holds the lowest slot element from which every slot of the micro-batch's buffer is
 * final — `parameterCount` before backward, 0 when it is done. Layers report their slot range when their backward
 * returns; the mark moves down only over a contiguous run of finished ranges, so a model whose backward does not
 * finish layers in exact reverse layout order (a VAE's two heads) is still reported correctly, just later. The
 * thread stores with Atomics.store and wakes the main thread with Atomics.notify; the main thread waits with
 * Atomics.waitAsync (gradient-stream.ts), so its event loop stays free for the all-reduce.
 */
export class BackwardProgress {
  readonly #cells: Int32Array;
  readonly #cell: number;
  /** Ranges not finished yet, keyed by their end (ranges tile [0, parameterCount)). */
  readonly #finished = new Map<number, number>();
  #mark: number;

  constructor(cells: Int32Array, cell: number, parameterCount: number) {
    this.#cells = cells;
    this.#cell = cell;
    this.#mark = parameterCount;
    Atomics.store(cells, cell, parameterCount);
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
    Atomics.notify(this.#cells, this.#cell);
  }

  /** Everything is final (the micro-batch's task is over, whatever its layers reported). */
  finish(): void {
    this.#mark = 0;
    Atomics.store(this.#cells, this.#cell, 0);
    Atomics.notify(this.#cells, this.#cell);
  }
}
