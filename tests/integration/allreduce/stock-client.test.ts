import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directWritesInstalled, receivedPayloadsInstalled } from '../../../transport/src/index.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';
import { firstBitDifference, rankOrderSum, rankVectors, startCluster } from './cluster.js';

// This file's process keeps the NATS client as shipped (no transport wrappers): the all-reduce must be right
// either way, since the wrappers step aside when the client's internals are not the expected ones.
process.env['GRADMESH_STOCK_CLIENT'] = '1';

let nats: NatsHandle;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('rsag all-reduce on the stock NATS client (no transport wrappers)', () => {
  it('N = 3, 3 000 017 elements, 3 steps: bitwise equal to the rank-order sum', async () => {
    const cluster = await startCluster(nats.url, 3);
    try {
      for (const nc of cluster.connections) {
        expect(receivedPayloadsInstalled(nc)).toBe(false);
        expect(directWritesInstalled(nc)).toBe(false);
      }
      for (let step = 0; step < 3; step++) {
        const inputs = rankVectors(3, 3_000_017, 40 + step);
        const outputs = inputs.map((v) => v.slice());
        await Promise.all(cluster.ranks.map((r, k) => r.allReduce(step, outputs[k]!)));
        const want = rankOrderSum(inputs);
        outputs.forEach((o, rank) => expect(firstBitDifference(o, want), `rank ${rank}, step ${step}`).toBe(-1));
      }
    } finally {
      await cluster.close();
    }
  });
});
