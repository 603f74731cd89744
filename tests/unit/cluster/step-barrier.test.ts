import { describe, expect, it } from 'vitest';
import { StepBarrier } from '../../../coordinator/src/step-barrier.js';
import { ClusterError } from '../../../shared/src/errors.js';

const names = ['w0', 'w1', 'w2'];
const barrier = () => new StepBarrier((rank) => names[rank]);

describe('step barrier', () => {
  it('resolves with every rank\'s reply in rank order once all are in', async () => {
    const b = barrier();
    const wait = b.wait({ kind: 'stepDone', key: 7, ranks: [0, 1, 2], timeoutMs: 5_000, what: 'step 7', step: 7 });
    expect(b.deliver('stepDone', 7, 2, { rank: 2 })).toBeUndefined();
    expect(b.deliver('stepDone', 7, 0, { rank: 0 })).toBeUndefined();
    expect(b.missing()).toEqual([1]);
    expect(b.deliver('stepDone', 7, 1, { rank: 1 })).toBeUndefined();
    expect(await wait).toEqual([{ rank: 0 }, { rank: 1 }, { rank: 2 }]);
  });

  it('says how to count replies that answer nothing open: stale, duplicate, unexpected rank', async () => {
    const b = barrier();
    expect(b.deliver('stepDone', 1, 0, {})).toBe('stale-step');
    const wait = b.wait({ kind: 'stepDone', key: 2, ranks: [0, 1], timeoutMs: 5_000, what: 'step 2', step: 2 });
    expect(b.deliver('stepDone', 1, 0, {})).toBe('stale-step');
    expect(b.deliver('evaluated', 2, 0, {})).toBe('stale-step');
    expect(b.deliver('stepDone', 2, 5, {})).toBe('malformed');
    expect(b.deliver('stepDone', 2, 0, {})).toBeUndefined();
    expect(b.deliver('stepDone', 2, 0, {})).toBe('duplicate');
    b.deliver('stepDone', 2, 1, {});
    await wait;
  });

  it('times out with a ClusterError naming the missing ranks, their workers and the step', async () => {
    const b = barrier();
    const wait = b.wait({ kind: 'stepDone', key: 9, ranks: [0, 1, 2], timeoutMs: 30, what: 'step 9', step: 9 });
    b.deliver('stepDone', 9, 1, {});
    const error = await wait.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as Error).message).toMatch(/^step 9: no reply from rank 0 \(worker w0\), rank 2 \(worker w2\) within 0\.03 s/);
    expect((error as ClusterError).context).toMatchObject({ rank: 0, step: 9, worker: 'w0' });
  });

  it('abort fails the open wait at once with the given error', async () => {
    const b = barrier();
    const wait = b.wait({ kind: 'evaluated', key: 1, ranks: [0], timeoutMs: 60_000, what: 'the test evaluation', step: 0 });
    const cause = new ClusterError('worker w0 died');
    b.abort(cause);
    await expect(wait).rejects.toBe(cause);
  });

  describe('a step sent ahead (Note [steps are sent ahead])', () => {
    it('holds the replies that arrive before its wait opens, checked like any other, and hands them to that wait', async () => {
      const b = barrier();
      const current = b.wait({ kind: 'stepDone', key: 7, ranks: [0, 1], timeoutMs: 5_000, what: 'step 7', step: 7 });
      b.expect({ kind: 'stepDone', key: 8, ranks: [0, 1], what: 'step 8', step: 8, bound: (_r, body) => ((body as { bad?: boolean }).bad ? 'too many samples' : undefined) });
      b.deliver('stepDone', 7, 0, { rank: 0, step: 7 });
      // Rank 0 already answered step 8 while rank 1 still computes step 7.
      expect(b.deliver('stepDone', 8, 0, { rank: 0, step: 8 })).toBeUndefined();
      expect(b.deliver('stepDone', 8, 0, { rank: 0, step: 8 })).toBe('duplicate');
      expect(b.deliver('stepDone', 8, 3, {})).toBe('malformed');
      expect(b.deliver('stepDone', 8, 1, { bad: true })).toEqual({ reason: 'out-of-bounds', detail: 'too many samples' });
      expect(b.deliver('stepDone', 9, 0, {})).toBe('stale-step');
      expect(b.missing()).toEqual([1]);
      b.deliver('stepDone', 7, 1, { rank: 1, step: 7 });
      expect(await current).toEqual([{ rank: 0, step: 7 }, { rank: 1, step: 7 }]);
      const next = b.wait({ kind: 'stepDone', key: 8, ranks: [0, 1], timeoutMs: 5_000, what: 'step 8', step: 8 });
      expect(b.missing()).toEqual([1]);
      b.deliver('stepDone', 8, 1, { rank: 1, step: 8 });
      expect(await next).toEqual([{ rank: 0, step: 8 }, { rank: 1, step: 8 }]);
    });

    it('a wait whose every reply came early resolves at once', async () => {
      const b = barrier();
      b.expect({ kind: 'stepDone', key: 3, ranks: [0, 1], what: 'step 3', step: 3 });
      b.deliver('stepDone', 3, 1, { rank: 1 });
      b.deliver('stepDone', 3, 0, { rank: 0 });
      expect(await b.wait({ kind: 'stepDone', key: 3, ranks: [0, 1], timeoutMs: 5_000, what: 'step 3', step: 3 })).toEqual([{ rank: 0 }, { rank: 1 }]);
    });

    it('replies held for an abandoned step do not count for the step sent again: forgetExpected and abort drop them', async () => {
      for (const drop of [(b: StepBarrier) => b.forgetExpected(), (b: StepBarrier) => b.abort(new ClusterError('generation 1 ended'))]) {
        const b = barrier();
        b.expect({ kind: 'stepDone', key: 4, ranks: [0, 1], what: 'step 4', step: 4 });
        b.deliver('stepDone', 4, 0, { rank: 0, generation: 1 });
        drop(b);
        expect(b.deliver('stepDone', 4, 1, {})).toBe('stale-step');
        const again = b.wait({ kind: 'stepDone', key: 4, ranks: [0, 1], timeoutMs: 5_000, what: 'step 4', step: 4 });
        expect(b.missing()).toEqual([0, 1]);
        b.deliver('stepDone', 4, 0, { rank: 0, generation: 2 });
        b.deliver('stepDone', 4, 1, { rank: 1, generation: 2 });
        expect(await again).toEqual([{ rank: 0, generation: 2 }, { rank: 1, generation: 2 }]);
      }
    });
  });
});
