import { describe, expect, it } from 'vitest';
import { BackwardProgress } from '../../../shared/src/train/overlap/backward-progress.js';
import { releaseAsFinal } from '../../../shared/src/train/overlap/gradient-stream.js';

describe('BackwardProgress: Note [gradients final]', () => {
  it('the mark moves down only over a contiguous run of finished ranges (a VAE finishes its heads out of order)', () => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const p = new BackwardProgress(cells, 1, 100);
    expect(cells[1]).toBe(100);
    p.done(80, 100); // decoder
    expect(cells[1]).toBe(80);
    p.done(40, 60); // mean head, before the log-variance head [60, 80)
    expect(cells[1]).toBe(80);
    p.done(60, 80);
    expect(cells[1]).toBe(40);
    p.done(30, 30); // a layer without parameters
    expect(cells[1]).toBe(40);
    p.done(0, 40);
    expect(cells[1]).toBe(0);
    expect(cells[0]).toBe(0);
  });
});

describe('BackwardProgress with bucket starts: Note [wake only at bucket starts]', () => {
  // Counts the notifies a waiter would get: Atomics.notify returns how many waiters it woke, so a test counts the
  // calls by wrapping it (the cells are the only argument that identifies the caller).
  function counting(cells: Int32Array): { readonly count: number; restore(): void } {
    const original = Atomics.notify;
    let count = 0;
    (Atomics as { notify: typeof Atomics.notify }).notify = (typed, index, n) => {
      if (typed === cells) count++;
      return original(typed as Int32Array, index, n);
    };
    return {
      get count() {
        return count;
      },
      restore: () => ((Atomics as { notify: typeof Atomics.notify }).notify = original),
    };
  }

  it('stores every move but notifies only when the mark reaches a bucket start not reached before', () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    const notifies = counting(cells);
    try {
      // Buckets [60, 100) and [0, 60), released in that order; four layers [90,100) [60,90) [20,60) [0,20).
      const p = new BackwardProgress(cells, 0, 100, [60, 0]);
      p.done(90, 100);
      expect([cells[0], notifies.count]).toEqual([90, 0]);
      p.done(60, 90);
      expect([cells[0], notifies.count]).toEqual([60, 1]);
      p.done(20, 60);
      expect([cells[0], notifies.count]).toEqual([20, 1]);
      p.done(0, 20);
      expect([cells[0], notifies.count]).toEqual([0, 2]);
      p.finish(); // already final: nothing to wake for
      expect([cells[0], notifies.count]).toEqual([0, 2]);
    } finally {
      notifies.restore();
    }
  });

  it('a move past several starts wakes once; finish() wakes when layers left the mark above 0', () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    const notifies = counting(cells);
    try {
      const p = new BackwardProgress(cells, 0, 100, [80, 50, 0]);
      p.done(40, 100);
      expect([cells[0], notifies.count]).toEqual([40, 1]);
      p.finish();
      expect([cells[0], notifies.count]).toEqual([0, 2]);
    } finally {
      notifies.restore();
    }
  });

  it('releaseAsFinal still releases every bucket in order when only bucket starts notify', async () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    const buckets = [
      { start: 60, end: 100 },
      { start: 0, end: 60 },
    ];
    const p = new BackwardProgress(cells, 0, 100, buckets.map((b) => b.start));
    const released: number[] = [];
    let finish!: () => void;
    const tasks = new Promise<void>((resolve) => (finish = resolve));
    const done = releaseAsFinal(tasks, cells, 1, { buckets, release: (b) => released.push(b) }, () => undefined);
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    p.done(90, 100);
    await tick();
    expect(released).toEqual([]);
    p.done(60, 90);
    await tick();
    expect(released).toEqual([0]); // woken by the notify at 60, before the task ends
    p.done(20, 60);
    p.done(0, 20);
    await tick();
    expect(released).toEqual([0, 1]);
    finish();
    await done;
    expect(released).toEqual([0, 1]);
  });
});

describe('releaseAsFinal', () => {
  it('releases each bucket only once every micro-batch has passed its start, in order, finalizing first; all by the end', async () => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    cells.fill(100);
    const buckets = [
      { start: 60, end: 100 },
      { start: 20, end: 60 },
      { start: 0, end: 20 },
    ];
    const log: string[] = [];
    let finish!: (v: string) => void;
    const tasks = new Promise<string>((resolve) => (finish = resolve));
    const done = releaseAsFinal(tasks, cells, 2, { buckets, release: (b) => log.push(`release ${b}`) }, (b) => log.push(`finalize ${b.start}`));
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    const move = (cell: number, mark: number) => {
      Atomics.store(cells, cell, mark);
      Atomics.notify(cells, cell);
    };
    move(0, 60);
    await tick();
    expect(log).toEqual([]); // micro-batch 1 is still above 60
    move(1, 50);
    await tick();
    expect(log).toEqual(['finalize 60', 'release 0']);
    move(0, 10);
    move(1, 10);
    await tick();
    expect(log).toEqual(['finalize 60', 'release 0', 'finalize 20', 'release 1']);
    finish('stats'); // the tasks end: whatever is left is final
    expect(await done).toBe('stats');
    expect(log).toEqual(['finalize 60', 'release 0', 'finalize 20', 'release 1', 'finalize 0', 'release 2']);
  });

  it('a failed task rejects instead of waiting forever, releasing nothing more', async () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    cells.fill(10);
    const released: number[] = [];
    const failing = Promise.reject(new Error('thread crashed'));
    await expect(releaseAsFinal(failing, cells, 1, { buckets: [{ start: 0, end: 10 }], release: (b) => released.push(b) }, () => undefined)).rejects.toThrow('thread crashed');
    expect(released).toEqual([]);
  });
});
