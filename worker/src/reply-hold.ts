/** The longest a step reply is held to go out with later ones (Note [replies are sent R at a time] in worker.ts). */
export const HOLD_REPLY_MS = 200;

/** What a replica knows when a step ends, to decide whether its held replies go out now. */
export interface HeldReplies {
  /** Replies held, the one of the step that just ended included. */
  readonly held: number;
  /** The replica's window W (R = ⌈W/2⌉ replies go out together). */
  readonly window: number;
  /** Whether another step of this generation is queued behind the one that ended. */
  readonly stepQueued: boolean;
  /** How long the oldest held reply has waited, ms. */
  readonly oldestMs: number;
  /** Time since the previous step ended (how long this step took when they run back to back), ms. */
  readonly sinceLastStepMs: number;
}

/**
 * Note [replies are sent R at a time] (worker.ts): send when R are held; when no step is queued (the coordinator
 * waits for these replies before it sends more: holding on would stall the run); when the oldest has waited
 * HOLD_REPLY_MS; or when steps take HOLD_REPLY_MS / R or longer — holding such a step's reply for R − 1 more of
 * them would delay it past HOLD_REPLY_MS (and toward the coordinator's step timeout) to save little.
 */
export function sendHeldRepliesNow(h: HeldReplies): boolean {
  const r = Math.ceil(h.window / 2);
  return h.held >= r || !h.stepQueued || h.oldestMs >= HOLD_REPLY_MS || h.sinceLastStepMs >= HOLD_REPLY_MS / r;
}
