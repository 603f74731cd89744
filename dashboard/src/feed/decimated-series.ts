/**
 * A bounded series that keeps the shape of a whole run: it holds at most `capacity` items; when full it
 * drops every other item and from then on keeps only every `stride`-th new one (the stride doubles each
 * time). A late viewer thus sees the run from its first step at an even resolution, in O(capacity) memory,
 * whatever the run's length. The newest item is always kept as `latest`, so the end of the curve is current.
 */
export class DecimatedSeries<T> {
  readonly capacity: number;
  #items: T[] = [];
  #stride = 1;
  #seen = 0;
  #latest: T | undefined;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`DecimatedSeries: capacity must be an integer ≥ 2, got ${capacity}`);
    this.capacity = capacity;
  }

  push(item: T): void {
    this.#latest = item;
    if (this.#seen++ % this.#stride !== 0) return;
    this.#items.push(item);
    if (this.#items.length >= this.capacity) {
      this.#items = this.#items.filter((_, i) => i % 2 === 0);
      this.#stride *= 2;
    }
  }

  /** The kept items, oldest first, ending with the newest item pushed. */
  items(): T[] {
    const last = this.#items[this.#items.length - 1];
    return this.#latest === undefined || last === this.#latest ? [...this.#items] : [...this.#items, this.#latest];
  }

  get stride(): number {
    return this.#stride;
  }
}
