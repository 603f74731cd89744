import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../shared/src/errors.js';
import { DropCounter, MessageRejectedError } from '../../../shared/src/protocol/drops.js';

describe('DropCounter', () => {
  it('counts every drop but logs once per (kind, reason)', () => {
    const lines: string[] = [];
    const drops = new DropCounter((l) => lines.push(l));
    for (let i = 0; i < 5; i++) drops.drop('rs', 'stale-step', `n${i}`);
    drops.drop('rs', 'malformed', 'x');
    drops.drop('join', 'malformed', 'y');
    drops.dropError(new MessageRejectedError('gradmesh.r.join', 'foreign-run', 'join', 'run "q"', { peer: 'w1' }));
    expect(drops.count('rs', 'stale-step')).toBe(5);
    expect(drops.count('rs')).toBe(6);
    expect(drops.count(undefined, 'malformed')).toBe(2);
    expect(drops.count()).toBe(8);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('n0');
    expect(lines[3]).toContain('gradmesh.r.join from w1');
    expect(drops.snapshot()).toEqual({ 'rs/stale-step': 5, 'rs/malformed': 1, 'join/malformed': 1, 'join/foreign-run': 1 });
  });

  it('MessageRejectedError is a ProtocolError naming subject, peer and reason', () => {
    const e = new MessageRejectedError('gradmesh.r.step', 'malformed', 'step', 'body.lr: must be ≥ 0', { peer: 'coordinator' });
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e.subject).toBe('gradmesh.r.step');
    expect(e.message).toBe('gradmesh.r.step from coordinator: malformed step message: body.lr: must be ≥ 0');
  });
});
