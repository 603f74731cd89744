import { InternalError } from '@gradmesh/shared/internal';
import { describe, expect, it } from 'vitest';
import { assignRanks, Roster, type JoinedWorker } from '../../../coordinator/src/membership.js';
import { ClusterError } from '../../../shared/src/errors.js';

const w = (workerId: string, pid = 100): JoinedWorker => ({ workerId, pid, host: 'h', threads: 1 });

describe('rank assignment', () => {
  it('gives ranks 0..N−1 to the workers in sorted id order, whatever the join order', () => {
    const joined = [w('w2'), w('w0'), w('w1')];
    const a = assignRanks(joined, 3, 1);
    expect(a.generation.members.map((m) => [m.rank, m.workerId])).toEqual([[0, 'w0'], [1, 'w1'], [2, 'w2']]);
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
      expect(assignRanks(order.map((i) => joined[i]!), 3, 1).generation.members.map((m) => m.workerId)).toEqual(['w0', 'w1', 'w2']);
    }
    expect(a.generation.generation).toBe(1);
    expect(a.generation.worldSize).toBe(3);
  });

  it('sorts by code unit, not locale (uppercase before lowercase; "w10" before "w2")', () => {
    expect(assignRanks([w('w2'), w('w10'), w('a'), w('B')], 4, 1).generation.members.map((m) => m.workerId)).toEqual(['B', 'a', 'w10', 'w2']);
  });

  it('makes the workers beyond N extras, the highest ids', () => {
    const a = assignRanks([w('c'), w('a'), w('d'), w('b')], 2, 1);
    expect(a.generation.members.map((m) => m.workerId)).toEqual(['a', 'b']);
    expect(a.extras.map((e) => e.workerId)).toEqual(['c', 'd']);
  });

  it('refuses to fill N ranks with fewer workers', () => {
    expect(() => assignRanks([w('a')], 2, 1)).toThrow(InternalError);
  });
});

describe('roster', () => {
  it('recognises a repeated join of the same process and rejects the same id from another process, naming both', () => {
    const r = new Roster();
    expect(r.join({ workerId: 'a', pid: 1, host: 'h', threads: 1 })).toBe(true);
    expect(r.join({ workerId: 'a', pid: 1, host: 'h', threads: 1 })).toBe(false);
    expect(r.size).toBe(1);
    let error: unknown;
    try {
      r.join({ workerId: 'a', pid: 2, host: 'h2', threads: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as Error).message).toMatch(/two workers joined with the id "a" \(pid 1 on h, and pid 2 on h2\)/);
    r.join({ workerId: 'b', pid: 3, host: 'h', threads: 1 });
    r.leave('a');
    expect(r.ids()).toEqual(['b']);
  });
});
