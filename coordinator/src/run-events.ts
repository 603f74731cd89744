/** What happened to a run's membership, for the report and the log: each generation, who left or came, which steps were redone. */
export interface RunEvent {
  /** ISO time. */
  readonly time: string;
  readonly kind: 'joined' | 'generation' | 'lost' | 'left' | 'rejoined' | 'state-transfer' | 'redo' | 'waiting';
  readonly generation: number;
  readonly worker?: string;
  readonly step: number;
  readonly detail: string;
}

/** An append-only, bounded event log (a long elastic run must not grow it without limit). */
export class RunEventLog {
  readonly #events: RunEvent[] = [];
  readonly #limit: number;
  #dropped = 0;

  readonly #onAdd: ((event: RunEvent) => void) | undefined;

  /** `onAdd` hears every event, kept or not (the run's observer: dashboard, metrics, status). */
  constructor(limit = 10_000, onAdd?: (event: RunEvent) => void) {
    this.#limit = limit;
    this.#onAdd = onAdd;
  }

  add(event: Omit<RunEvent, 'time'>): RunEvent {
    const full = { time: new Date().toISOString(), ...event };
    if (this.#events.length < this.#limit) this.#events.push(full);
    else this.#dropped++;
    this.#onAdd?.(full);
    return full;
  }

  get events(): readonly RunEvent[] {
    return this.#events;
  }

  /** Events not kept because the log was full. */
  get dropped(): number {
    return this.#dropped;
  }
}
