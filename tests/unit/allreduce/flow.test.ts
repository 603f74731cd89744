import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { PIECE_HEADER_BYTES } from '../../../shared/src/protocol/pieces.js';
import { largestPieceFor, MAX_WINDOW, requireWindow, SendWindow, windowFor } from '../../../worker/src/allreduce/flow.js';

describe('flow control window', () => {
  it('keeps 2(N−1)·W·(P+16) ≤ max_pending / 2 for every N ≤ 64 and piece size, and W is the largest such (≤ MAX_WINDOW)', () => {
    const maxPending = 64 << 20;
    for (let n = 2; n <= 64; n++) {
      for (const p of [4, 4096, 65536, 262144, 1 << 20, (1 << 20) - 16, 4 << 20]) {
        const w = windowFor(n, p, maxPending);
        const inFlight = (k: number): number => 2 * (n - 1) * k * (p + PIECE_HEADER_BYTES);
        if (w >= 1) expect(inFlight(w)).toBeLessThanOrEqual(maxPending / 2);
        if (w < MAX_WINDOW) expect(inFlight(w + 1)).toBeGreaterThan(maxPending / 2);
      }
    }
    expect(windowFor(2, (1 << 20) - 16, 64 << 20)).toBe(MAX_WINDOW);
    expect(windowFor(4, (1 << 20) - 16, 64 << 20)).toBe(5);
  });

  it('largestPieceFor gives a multiple of 4 that admits W = 1; requireWindow names pieceBytes when none fits', () => {
    for (const n of [2, 17, 64, 1000]) {
      const p = largestPieceFor(n, 64 << 20);
      expect(p % 4).toBe(0);
      expect(windowFor(n, p, 64 << 20)).toBeGreaterThanOrEqual(1);
    }
    expect(() => requireWindow(64, 1 << 20, 64 << 20)).toThrow(ConfigError);
    expect(() => requireWindow(64, 1 << 20, 64 << 20)).toThrow(/pieceBytes/);
  });

  it('SendWindow allows at most `window` unacknowledged pieces and never more than the total', () => {
    const w = new SendWindow(5, 2);
    const sendAll = (): number => {
      let n = 0;
      while (w.canSend()) {
        w.sent++;
        n++;
      }
      return n;
    };
    expect(sendAll()).toBe(2);
    w.acked++;
    expect(sendAll()).toBe(1);
    w.acked += 2;
    expect(sendAll()).toBe(2);
    w.acked += 2;
    expect(sendAll()).toBe(0);
    expect(w.sent).toBe(5);
  });
});
