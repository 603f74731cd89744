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

  constructor(
    readonly slotCount: number,
    readonly worldSize: number,
  ) {
    this.#readers = new Uint8Array(slotCount * worldSize);
    this.#count = new Uint16Array(slotCount);
    for (let s = slotCount - 1; s >= 0; s--) this.#free.push(s);
  }

  get freeCount(): number {
    return this.#free.length;
  }

  /** A free slot, or undefined when every slot is being read. */
  take(): number | undefined {
    return this.#free.pop();
  }

  /** `slot` (just taken) is now read by `peer`. */
  lend(slot: number, peer: number): void {
    this.#readers[slot * this.worldSize + peer] = 1;
    this.#count[slot]!++;
  }

  /** A slot taken but noticed to nobody goes straight back. */
  giveBack(slot: number): void {
    if (this.#count[slot] === 0) this.#free.push(slot);
  }

  /** `peer` is done with `slot`; false (nothing changes) when it was not reading it. */
  release(slot: number, peer: number): boolean {
    if (!(slot < this.slotCount) || !(peer < this.worldSize)) return false;
    const at = slot * this.worldSize + peer;
    if (this.#readers[at] !== 1) return false;
    this.#readers[at] = 0;
    if (--this.#count[slot]! === 0) this.#free.push(slot);
    return true;
  }
}
