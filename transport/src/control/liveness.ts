import { InternalError } from '@gradmesh/shared/internal';
/**
 * Who has been heard from recently. Every message from a peer (heartbeat or any reply) counts as a sign of
 * life; a peer silent for longer than `timeoutMs` is reported by `silent()`. A dead process and a stalled
 * one (SIGSTOP, a frozen VM, a partition) look the same from here, which is the point: both stop the run.
 * The clock is injected so the rule is unit-testable without waiting.
 */
export class Liveness {
  readonly timeoutMs: number;
  readonly #lastSeen = new Map<string, number>();
  readonly #now: () => number;

  constructor(timeoutMs: number, now: () => number = () => performance.now()) {
    if (!(timeoutMs > 0)) throw new InternalError(`Liveness: timeoutMs must be > 0, got ${timeoutMs}`);
    this.timeoutMs = timeoutMs;
    this.#now = now;
  }

  touch(peer: string): void {
    this.#lastSeen.set(peer, this.#now());
  }

  forget(peer: string): void {
    this.#lastSeen.delete(peer);
  }

  watching(peer: string): boolean {
    return this.#lastSeen.has(peer);
  }

  /** Peers silent for more than the timeout, longest silence first. */
  silent(): { peer: string; silentMs: number }[] {
    const now = this.#now();
    const out: { peer: string; silentMs: number }[] = [];
    for (const [peer, seen] of this.#lastSeen) if (now - seen > this.timeoutMs) out.push({ peer, silentMs: now - seen });
    return out.sort((a, b) => b.silentMs - a.silentMs || (a.peer < b.peer ? -1 : 1));
  }
}

/** Calls `tick` every `intervalMs` until stopped (heartbeats, liveness checks). */
export function every(intervalMs: number, tick: () => void): { stop(): void } {
  const timer = setInterval(tick, intervalMs);
  return { stop: () => clearInterval(timer) };
}

/**
 * Checks `liveness` every `intervalMs` and calls `onSilent` with the silent peers. Note [our own stalls]: when
 * this process itself was blocked (a long synchronous load, a SIGSTOP of our own), the timer fires late and
 * before the messages that queued up meanwhile are read; judging peers in that tick would blame them for
 * our pause. A tick that runs more than two intervals late is therefore skipped, and the next one decides.
 */
export function watchSilence(liveness: Liveness, intervalMs: number, onSilent: (silent: { peer: string; silentMs: number }[]) => void): { stop(): void } {
  let last = performance.now();
  return every(intervalMs, () => {
    const now = performance.now();
    const late = now - last > 2 * intervalMs;
    last = now;
    if (late) return;
    const silent = liveness.silent();
    if (silent.length > 0) onSilent(silent);
  });
}
