/**
 * The slots of this rank's segment and which peers still read each one. A slot is handed out for one frame,
 * noticed to one or more peers, and free again once every one of them has released it — never before, so a
 * peer never sees a slot change under a view it holds. A release from a peer that does not hold the slot is
 * refused (the caller treats it as a broken protocol), so no message can free a slot another peer still reads.
 */
export class SlotPool {
  readonly #free: number[] = [];
  /** readers[slot · worldSize + peer] = 1 while `peer` may read `slot`. */
  readonly #readers: Uint8Array;
  readonly #count: Uint16Array;
  /** isFree[slot] = 1 while the slot is in the free list (so it is never in it twice). */
  readonly #isFree: Uint8Array;

  constructor(
    readonly slotCount: number,
    readonly worldSize: number,
  ) {
    this.#readers = new Uint8Array(slotCount * worldSize);
    this.#count = new Uint16Array(slotCount);
    this.#isFree = new Uint8Array(slotCount).fill(1);
    for (let s = slotCount - 1; s >= 0; s--) this.#free.push(s);
  }

  get freeCount(): number {
    return this.#free.length;
  }

  /** The most slots ever out at once (taken and not yet free again). */
  peakInUse = 0;

  /** A free slot, or undefined when every slot is being read. */
  take(): number | undefined {
    const slot = this.#free.pop();
    if (slot !== undefined) this.#isFree[slot] = 0;
    const inUse = this.slotCount - this.#free.length;
    if (inUse > this.peakInUse) this.peakInUse = inUse;
    return slot;
  }

  /** `slot` (just taken) is now read by `peer`. */
  lend(slot: number, peer: number): void {
    this.#readers[slot * this.worldSize + peer] = 1;
    this.#count[slot]!++;
  }

  /** A slot taken but lent to nobody goes straight back (a free or lent slot is left as it is). */
  giveBack(slot: number): void {
    if (slot < this.slotCount && this.#count[slot] === 0 && this.#isFree[slot] === 0) this.#putFree(slot);
  }

  #putFree(slot: number): void {
    this.#isFree[slot] = 1;
    this.#free.push(slot);
  }

  /** `peer` is done with `slot`; false (nothing changes) when it was not reading it. */
  release(slot: number, peer: number): boolean {
    if (!(slot < this.slotCount) || !(peer < this.worldSize)) return false;
    const at = slot * this.worldSize + peer;
    if (this.#readers[at] !== 1) return false;
    this.#readers[at] = 0;
    if (--this.#count[slot]! === 0) this.#putFree(slot);
    return true;
  }
}
