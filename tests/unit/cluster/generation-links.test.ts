import { describe, expect, it } from 'vitest';
import { generationLinks, newLinkSecret } from '../../../coordinator/src/generation-links.js';
import { assignRanks, type JoinedWorker } from '../../../coordinator/src/membership.js';
import { ClusterError } from '../../../shared/src/errors.js';

const joined: JoinedWorker[] = [
  { workerId: 'w-c', pid: 3, host: 'c', threads: 1, dataAddress: '10.0.0.3:29500' },
  { workerId: 'w-a', pid: 1, host: 'a', threads: 1, dataAddress: '[fd00::1]:29500' },
  { workerId: 'w-b', pid: 2, host: 'b', threads: 1, dataAddress: 'w-b.gradmesh:29500' },
];

describe('generationLinks', () => {
  it('a direct run: every member\'s address in rank order, and a 32-byte secret', () => {
    const { generation } = assignRanks(joined, 3, 1);
    const links = generationLinks(generation, 'direct')!;
    expect(links.addresses).toEqual(['[fd00::1]:29500', 'w-b.gradmesh:29500', '10.0.0.3:29500']);
    expect(links.addresses).toEqual(generation.members.map((m) => m.dataAddress));
    expect(links.secret).toBeInstanceOf(Uint8Array);
    expect(links.secret.byteLength).toBe(32);
  });

  it('each generation draws its own secret', () => {
    const first = generationLinks(assignRanks(joined, 3, 1).generation, 'direct')!;
    const second = generationLinks(assignRanks(joined, 3, 2).generation, 'direct')!;
    expect(Buffer.from(first.secret).equals(Buffer.from(second.secret))).toBe(false);
    // 64 draws, all distinct, none all-zero: the CSPRNG, not a constant or a counter.
    const draws = new Set(Array.from({ length: 64 }, () => Buffer.from(newLinkSecret()).toString('hex')));
    expect(draws.size).toBe(64);
    expect(draws.has('00'.repeat(32))).toBe(false);
  });

  it('a run through NATS sends no links', () => {
    expect(generationLinks(assignRanks(joined, 3, 1).generation, 'nats')).toBeUndefined();
  });

  it('a member without a data address fails a direct generation with one line naming it and the way out', () => {
    const old: JoinedWorker = { workerId: 'w-old', pid: 4, host: 'd', threads: 1 };
    const { generation } = assignRanks([...joined, old], 4, 7);
    let error: unknown;
    try {
      generationLinks(generation, 'direct');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClusterError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^generation 7: worker w-old \(rank 3\) offered no data address/);
    expect(message).toContain('start workers of this gradmesh version');
    expect(message).toContain('training.allreduce.transport to "nats"');
    // The same members in a run through NATS are fine.
    expect(generationLinks(generation, 'nats')).toBeUndefined();
  });
});
