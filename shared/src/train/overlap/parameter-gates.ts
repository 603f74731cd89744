import type { GradientBucket } from './gradient-buckets.js';

/**
 * Note [parameters final]
 * A worker hands the next step's micro-batches to the pool BEFORE it applies this step's update (Note [the next
 * step starts during the update] in worker/src/replica.ts): the pool thread fills its batch, then runs the forward
 * pass layer by layer, and before each layer waits until that layer's parameters hold their values for the step
 * it computes. The main thread updates the parameters bucket by bucket in forward order and opens each bucket's gate
 * right after, so the first layers' forward runs while the last layers are still being updated.
 *
 * Each early hand-off draws a ticket (tickets only grow, over the replica's life: a step number would not do, since
 * an interrupted step is undone and computed again under the same number). One Int32 cell per bucket holds the
 * highest ticket whose forward may read that bucket's parameters; a last cell holds the highest ticket whose tasks
 * must give up (the step they follow failed, or they were withdrawn).
 * Every parameter a forward pass reads belongs to a layer of a LayerStack, which calls the gate before the layer
 * (model/layer-stack.ts), and a layer is never split between buckets (gradient-buckets.ts), so no value is read
 * before its gate opens. Cells only grow; the thread waits with Atomics.wait (blocking is allowed on a worker
 * thread) and a short timeout, so it sees an abort even when no notify reaches it.
 */
export interface ParameterGateRef {
  /** cells[b] = the highest ticket whose forward may read bucket b; cells[buckets] = the highest ticket withdrawn. */
  readonly cells: Int32Array;
  /** [start0, end0, start1, end1, …]: the buckets' element ranges of the flat parameter buffer. */
  readonly bounds: Int32Array;
  /** The task's ticket (ParameterGates.draw). */
  readonly ticket: number;
}

/** The task was withdrawn by the main thread while it waited for parameters or computed its forward pass. */
export class StepWithdrawn extends Error {
  constructor(readonly ticket: number) {
    super(`early step (ticket ${ticket}) was withdrawn`);
    this.name = 'StepWithdrawn';
  }
}

/** How long a waiting thread sleeps before it looks at the abort cell again (an abort also wakes it at once). */
const RECHECK_MS = 50;

/** The main thread's side: the cells, opened bucket by bucket as the update proceeds. */
export class ParameterGates {
  readonly cells: Int32Array;
  readonly bounds: Int32Array;
  readonly #buckets: number;
  #tickets = 0;

  constructor(buckets: readonly GradientBucket[]) {
    this.#buckets = buckets.length;
    this.cells = new Int32Array(new SharedArrayBuffer(4 * (buckets.length + 1))).fill(-1);
    this.bounds = new Int32Array(new SharedArrayBuffer(8 * buckets.length));
    buckets.forEach((b, i) => {
      this.bounds[2 * i] = b.start;
      this.bounds[2 * i + 1] = b.end;
    });
  }

  /** A new ticket, with every gate closed to it: the reference its tasks carry. */
  draw(): ParameterGateRef {
    if (this.#tickets === 0x7fffffff) throw new RangeError('parameter gate tickets exhausted');
    return { cells: this.cells, bounds: this.bounds, ticket: ++this.#tickets };
  }

  /** Bucket `bucket`'s parameters hold their values for the tasks of `ticket`: their forward may read them. */
  open(bucket: number, ticket: number): void {
    if (Atomics.load(this.cells, bucket) >= ticket) return;
    Atomics.store(this.cells, bucket, ticket);
    Atomics.notify(this.cells, bucket);
  }

  openAll(ticket: number): void {
    for (let b = 0; b < this.#buckets; b++) this.open(b, ticket);
  }

  /** Tasks of `ticket` (and earlier) give up with StepWithdrawn at their next layer. */
  withdraw(ticket: number): void {
    if (Atomics.load(this.cells, this.#buckets) < ticket) Atomics.store(this.cells, this.#buckets, ticket);
    for (let b = 0; b < this.#buckets; b++) Atomics.notify(this.cells, b);
  }
}

/** A pool thread's side, before a layer: returns once every bucket overlapping [start, end) is open to the task's ticket; throws StepWithdrawn once it is withdrawn. */
export function waitForParameters(gate: ParameterGateRef, start: number, end: number): void {
  const { cells, bounds, ticket } = gate;
  const buckets = bounds.length / 2;
  for (let b = 0; b < buckets; b++) {
    if (bounds[2 * b]! >= end || bounds[2 * b + 1]! <= start) continue;
    for (;;) {
      const opened = Atomics.load(cells, b);
      if (opened >= ticket) break;
      if (Atomics.load(cells, buckets) >= ticket) throw new StepWithdrawn(ticket);
      Atomics.wait(cells, b, opened, RECHECK_MS);
    }
  }
  if (Atomics.load(cells, buckets) >= ticket) throw new StepWithdrawn(ticket);
}
