import { randomBytes } from 'node:crypto';
import { ClusterError, LINK_SECRET_BYTES, type AllreduceTransport, type GenerationLinks } from '@gradmesh/shared/internal';
import type { Generation } from './membership.js';

/**
 * The links of a new generation (Note [links are per generation] in shared/src/protocol/messages.ts): for a
 * run whose all-reduce transport is `direct`, every member's data address in rank order and a secret drawn
 * once for this generation, sent in every member's assignment; for a `nats` run, none.
 *
 * A member that offered no data address when it joined (a worker of an older version) cannot take part in a
 * direct run: formation fails with one line naming it, rather than leaving the other ranks to dial nowhere.
 */
export function generationLinks(generation: Generation, transport: AllreduceTransport, drawSecret: () => Uint8Array = newLinkSecret): GenerationLinks | undefined {
  if (transport !== 'direct') return undefined;
  const addresses = generation.members.map((m) => {
    if (m.dataAddress === undefined) {
      throw new ClusterError(`generation ${generation.generation}: worker ${m.workerId} (rank ${m.rank}) offered no data address, and the run's all-reduce transport is "direct"`, {
        worker: m.workerId,
        rank: m.rank,
        hint: 'start workers of this gradmesh version (they send the address of their link listener when they join), or set training.allreduce.transport to "nats"',
      });
    }
    return m.dataAddress;
  });
  return { addresses, secret: drawSecret() };
}

/** 32 bytes from the OS's CSPRNG, as a plain Uint8Array. */
export function newLinkSecret(): Uint8Array {
  return new Uint8Array(randomBytes(LINK_SECRET_BYTES));
}
