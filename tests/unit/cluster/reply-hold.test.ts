import { describe, expect, it } from 'vitest';
import { HOLD_REPLY_MS, sendHeldRepliesNow, type HeldReplies } from '../../../worker/src/reply-hold.js';

/** Note [replies are sent R at a time] (worker/src/worker.ts): when a replica's held step replies go out. */
const fast: HeldReplies = { held: 1, window: 8, stepQueued: true, oldestMs: 0, sinceLastStepMs: 20 };

describe('Note [replies are sent R at a time]', () => {
  it('fast steps with more queued are held until R = ⌈W/2⌉ replies are due', () => {
    expect([1, 2, 3].map((held) => sendHeldRepliesNow({ ...fast, held, oldestMs: 20 * (held - 1) }))).toEqual([false, false, false]);
    expect(sendHeldRepliesNow({ ...fast, held: 4, oldestMs: 60 })).toBe(true);
    expect(sendHeldRepliesNow({ ...fast, window: 3, held: 2 })).toBe(true);
  });

  it('with nothing queued they go out at once: the coordinator is waiting for them (no stall)', () => {
    expect(sendHeldRepliesNow({ ...fast, stepQueued: false })).toBe(true);
  });

  it('W = 2 (one step ahead) sends every reply as its step ends, as before the window', () => {
    expect(sendHeldRepliesNow({ ...fast, window: 2 })).toBe(true);
  });

  it('a reply never waits HOLD_REPLY_MS or more, and a slow step (≥ HOLD_REPLY_MS / R) is reported as it ends', () => {
    expect(sendHeldRepliesNow({ ...fast, held: 2, oldestMs: HOLD_REPLY_MS })).toBe(true);
    expect(sendHeldRepliesNow({ ...fast, sinceLastStepMs: HOLD_REPLY_MS / 4 })).toBe(true);
    expect(sendHeldRepliesNow({ ...fast, sinceLastStepMs: HOLD_REPLY_MS / 4 - 1 })).toBe(false);
  });
});
