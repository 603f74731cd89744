import { describe, expect, it } from 'vitest';
import { memoryGrows, type MemorySample } from '../../../bench/src/backend/memory-check.js';

const MiB = 1024 * 1024;
/** Samples every 1000 steps of RSS = outside + heapTotal, in MiB. */
function samples(rows: readonly (readonly [step: number, outside: number, heapTotal: number, live: number])[]): MemorySample[] {
  return rows.map(([step, outside, heapTotal, live]) => ({ step, rssBytes: (outside + heapTotal) * MiB, heapTotalBytes: heapTotal * MiB, heapUsedBytes: live * MiB, afterFullCollection: true }));
}

// 2026-12-02, `bench memory --model cnn-bn --memory-steps 6000` on the pool (reports/bench-memory/2026-12-02-cnn-bn.json):
// RSS 201.5 → 216.6 MiB, all of it V8's reserve (heapTotal 24.9 → 39.9) while the live heap held 18.3 MiB.
const cnnBn = samples([
  [0, 176.6, 24.9, 18.3], [1000, 177.5, 24.9, 18.3], [2000, 176.5, 24.9, 18.3], [3000, 177.0, 24.9, 18.3],
  [4000, 173.5, 31.9, 18.3], [5000, 169.0, 39.9, 18.3], [6000, 176.8, 39.9, 18.3],
]);

describe('bench memory verdict (Note [what grows])', () => {
  it('V8 widening its reserve beyond a flat live heap is not growth; judged on raw RSS it would be', () => {
    expect(memoryGrows(cnnBn, 6000, true)).toBe(false);
    expect(memoryGrows(cnnBn, 6000, false)).toBe(true);
  });

  it('a live heap that keeps growing (a JavaScript leak) is growth, even with RSS hidden in the reserve', () => {
    const leak = samples(Array.from({ length: 11 }, (_, i) => [i * 1000, 170, 40, 18 + i * 0.6] as const));
    expect(memoryGrows(leak, 10_000, true)).toBe(true);
  });

  it('RSS outside the heap that keeps growing (native, WebAssembly, buffers) is growth', () => {
    const leak = samples(Array.from({ length: 11 }, (_, i) => [i * 1000, 170 + i * 1.2, 25, 18] as const));
    expect(memoryGrows(leak, 10_000, true)).toBe(true);
    const flat = samples(Array.from({ length: 11 }, (_, i) => [i * 1000, 170 + (i % 2) * 3, 25 + (i % 3), 18 + (i % 2)] as const));
    expect(memoryGrows(flat, 10_000, true)).toBe(false);
  });
});
