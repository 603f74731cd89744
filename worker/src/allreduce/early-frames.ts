import type { DropCounter } from '@gradmesh/shared/internal';
import type { PieceHeader } from '@gradmesh/shared/internal';

/** A frame received before its step started on this rank, kept with the subject it came on. */
export interface EarlyFrame {
  readonly subject: string;
  readonly header: PieceHeader;
  readonly frame: Uint8Array;
}

/**
 * Frames of steps this rank has not started yet: a faster peer finishes step s and starts s+1 while this rank
 * still waits for the last reduced pieces of s. (It cannot get two steps ahead: finishing s+1 needs this
 * rank's pieces of s+1.) Such frames are kept — as they are when they are recycled payloads (buffers of their
 * own, see `@gradmesh/transport`, `received-payloads.ts`), else copied, since `msg.data` may then view the client's read
 * buffer — and replayed when their step starts. A byte cap bounds what a misbehaving peer can make us hold; past it,
 * frames are dropped and counted as 'overflow' (the step then times out naming the peer).
 */
export class EarlyFrames {
  readonly #byStep = new Map<number, EarlyFrame[]>();
  #bytes = 0;
  /** Bytes held per source rank, when each source has a cap of its own. */
  readonly #bySource: number[] | undefined;

  /**
   * `maxBytesPerSource[k]`, when given, caps what rank k alone can make this rank hold (Note [early frames are
   * bounded by the run] in rsag.ts): one peer that floods in-window frames of its own cannot push out another
   * peer's real ones.
   */
  constructor(
    readonly maxBytes: number,
    private readonly drops: DropCounter,
    readonly maxBytesPerSource?: readonly number[],
  ) {
    this.#bySource = maxBytesPerSource === undefined ? undefined : maxBytesPerSource.map(() => 0);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** `owned`: `data` is a buffer nobody else will touch (kept without a copy). */
  add(subject: string, header: PieceHeader, data: Uint8Array, owned: boolean): void {
    if (this.#bytes + data.length > this.maxBytes) {
      this.drops.drop(header.family, 'overflow', `${subject}: step ${header.step} piece ${header.piece} from rank ${header.source} arrived early and the early buffer is full (${this.maxBytes} bytes)`);
      return;
    }
    const held = this.#bySource?.[header.source];
    const cap = this.maxBytesPerSource?.[header.source];
    if (held !== undefined && cap !== undefined && held + data.length > cap) {
      this.drops.drop(header.family, 'overflow', `${subject}: step ${header.step} piece ${header.piece} from rank ${header.source} arrived early and that rank's share of the early buffer is full (${cap} bytes)`);
      return;
    }
    const list = this.#byStep.get(header.step) ?? [];
    list.push({ subject, header, frame: owned ? data : data.slice() });
    this.#byStep.set(header.step, list);
    this.#bytes += data.length;
    if (this.#bySource !== undefined && held !== undefined) this.#bySource[header.source] = held + data.length;
  }

  /** Removes and returns the frames of `step`, in arrival order; frames of earlier steps are dropped as stale. */
  take(step: number): EarlyFrame[] {
    let out: EarlyFrame[] = [];
    for (const [s, list] of this.#byStep) {
      if (s > step) continue;
      this.#byStep.delete(s);
      for (const f of list) {
        this.#bytes -= f.frame.length;
        if (this.#bySource !== undefined && this.#bySource[f.header.source] !== undefined) this.#bySource[f.header.source]! -= f.frame.length;
      }
      if (s === step) out = list;
      else for (const f of list) this.drops.drop(f.header.family, 'stale-step', `${f.subject}: step ${s} from rank ${f.header.source} never started here (now at step ${step})`);
    }
    return out;
  }

  clear(): void {
    this.#byStep.clear();
    this.#bytes = 0;
    this.#bySource?.fill(0);
  }
}
