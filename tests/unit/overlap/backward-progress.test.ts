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
