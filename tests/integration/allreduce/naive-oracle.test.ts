import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NaiveAllReduce } from '../../helpers/naive-allreduce.js';
import { startNats, type NatsHandle } from '../nats/nats-server.js';
import { firstBitDifference, freshRunId, rankOrderSum, rankVectors, startCluster } from './cluster.js';

let nats: NatsHandle;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('rsag agrees with the naive all-to-all oracle (a different data path)', () => {
  it('N = 3 and 4, several lengths and steps: rsag, naive and the local rank-order sum give the same bits', async () => {
    for (const worldSize of [3, 4]) {
      const rsag = await startCluster(nats.url, worldSize, { pieceBytes: 4096 });
      const runId = freshRunId('naive');
      const conns = await Promise.all(Array.from({ length: worldSize }, () => connect({ servers: nats.url })));
      const naive = conns.map((nc, rank) => new NaiveAllReduce({ nc, runId, rank, worldSize, generation: 0 }));
      await Promise.all(conns.map((nc) => nc.flush()));
      try {
        for (const [step, length] of [7, 1001, 300_001].entries()) {
          const inputs = rankVectors(worldSize, length, step * 31 + worldSize);
          const viaRsag = inputs.map((v) => v.slice());
          const viaNaive = inputs.map((v) => v.slice());
          await Promise.all(rsag.ranks.map((r, k) => r.allReduce(step, viaRsag[k]!)));
          await Promise.all(naive.map((r, k) => r.allReduce(step, viaNaive[k]!)));
          const expected = rankOrderSum(inputs);
          for (let k = 0; k < worldSize; k++) {
            expect(firstBitDifference(viaNaive[k]!, expected), `naive rank ${k}`).toBe(-1);
            expect(firstBitDifference(viaRsag[k]!, viaNaive[k]!), `rsag rank ${k}`).toBe(-1);
          }
        }
      } finally {
        await Promise.all(naive.map((n) => n.close()));
        await Promise.all(conns.map((nc) => nc.close()));
        await rsag.close();
      }
    }
  });
});
