import { describe, expect, it } from 'vitest';
import { Liveness } from '../../../transport/src/control/liveness.js';

describe('liveness', () => {
  it('reports peers silent for longer than the timeout, longest silence first, and forgets on request', () => {
    let now = 0;
    const l = new Liveness(10_000, () => now);
    l.touch('a');
    now = 3_000;
    l.touch('b');
    now = 10_000;
    expect(l.silent()).toEqual([]);
    now = 12_000;
    expect(l.silent()).toEqual([{ peer: 'a', silentMs: 12_000 }]);
    now = 13_500;
    expect(l.silent().map((s) => s.peer)).toEqual(['a', 'b']);
    l.touch('a');
    expect(l.silent().map((s) => s.peer)).toEqual(['b']);
    l.forget('b');
    expect(l.silent()).toEqual([]);
    expect(l.watching('b')).toBe(false);
  });
});
