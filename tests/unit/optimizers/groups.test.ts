/**
 * Optimizer.step with groups (Note [update in parts] in shared/src/train/update.ts): one step, counted once,
 * applied group by group with the same t, equals the whole step bit for bit for every optimizer type;
 * groups that are not a partition of the segments throw before any state is touched.
 */
import { describe, expect, it } from 'vitest';
import type { Json } from '../../../shared/src/config/validate.js';
import { ShapeError } from '../../../shared/src/errors.js';
import type { Optimizer, ParamSegment, SegmentGroups } from '../../../shared/src/optimizers/optimizer.js';
import { OPTIMIZER_TYPES, optimizerFromSpec } from '../../../shared/src/optimizers/registry.js';
import { Random } from '../../../shared/src/random.js';
import { countingBackend } from './counting-backend.js';
import { segments } from './segments.js';

const SIZES = [5, 1, 7, 3];

function setup(spec: Json): { optimizer: Optimizer; segs: ParamSegment[]; backend: ReturnType<typeof countingBackend> } {
  const backend = countingBackend();
  const rng = Random.derive(3, 0);
  const segs = segments(...SIZES.map((n) => ({ theta: Array.from({ length: n }, () => rng.normal()), grad: new Array<number>(n).fill(0) })));
  return { optimizer: optimizerFromSpec(spec, { path: 'optimizer' }, backend, SIZES), segs, backend };
}

function fillGrads(segs: readonly ParamSegment[], step: number): void {
  const rng = Random.derive(9, step);
  for (const s of segs) for (let i = 0; i < s.grad.size; i++) s.grad.data[i] = rng.uniform(-1, 1);
}

function bytesOf(optimizer: Optimizer, segs: readonly ParamSegment[]): number[][] {
  const all = [...segs.map((s) => s.value.data), ...optimizer.stateTensors().map((s) => s.tensor.data)];
  return all.map((d) => [...new Uint8Array(d.buffer, d.byteOffset, d.byteLength)]);
}

describe('Optimizer.step in groups', () => {
  const SPECS: Json[] = [
    ...OPTIMIZER_TYPES.map((type) => ({ type })),
    { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01 },
    { type: 'rmsprop', centered: true, momentum: 0.5 },
  ];
  for (const spec of SPECS) {
    it(`${JSON.stringify(spec)}: equals the whole step bit for bit, counts one step, calls afterGroup in order and allocates nothing`, () => {
      const whole = setup(spec);
      const grouped = setup(spec);
      const groups = [[3], [], [0, 2], [1]];
      for (let step = 0; step < 3; step++) {
        fillGrads(whole.segs, step);
        fillGrads(grouped.segs, step);
        whole.optimizer.step(whole.segs, 0.05);
        const calls: number[] = [];
        grouped.optimizer.step(grouped.segs, 0.05, { groups, afterGroup: (g) => calls.push(g) });
        expect(calls).toEqual([0, 1, 2, 3]);
        expect(grouped.optimizer.stepCount).toBe(step + 1);
        expect(bytesOf(grouped.optimizer, grouped.segs)).toEqual(bytesOf(whole.optimizer, whole.segs));
      }
      expect(grouped.backend.scratch).toBe(0);
    });
  }

  const BAD: readonly { readonly label: string; readonly groups: number[][]; readonly message: RegExp }[] = [
    { label: 'a segment in two groups', groups: [[0, 1], [1, 2, 3]], message: /group 1 names segment 1, which is already in a group/ },
    { label: 'a segment in none', groups: [[0, 1], [3]], message: /cover 3 of the 4 segments \(segment 2 is in none\)/ },
    { label: 'an index past the segments', groups: [[0, 1, 2, 3, 4]], message: /segment 4, which is not one of the 4 segments/ },
    { label: 'a fractional index', groups: [[0, 1, 2, 2.5, 3]], message: /segment 2.5, which is not one of/ },
  ];
  for (const c of BAD) {
    it(`${c.label}: ShapeError, no afterGroup, and no value, state or step count changes`, () => {
      const { optimizer, segs } = setup({ type: 'adam' });
      fillGrads(segs, 0);
      optimizer.step(segs, 0.05);
      const before = bytesOf(optimizer, segs);
      const calls: number[] = [];
      const groups: SegmentGroups = { groups: c.groups, afterGroup: (g) => calls.push(g) };
      expect(() => optimizer.step(segs, 0.05, groups)).toThrow(ShapeError);
      expect(() => optimizer.step(segs, 0.05, groups)).toThrow(c.message);
      expect(calls).toEqual([]);
      expect(optimizer.stepCount).toBe(1);
      expect(bytesOf(optimizer, segs)).toEqual(before);
    });
  }
});
