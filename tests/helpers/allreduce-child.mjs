// One process running `worldSize` rsag ranks (the compiled worker, as a worker process runs it) on the vectors in
// <dir>/input-<rank>.f32, writing <dir>/output-<rank>.f32; prints the rank-order sum's status as JSON.
// Usage: node allreduce-child.mjs <nats url> <dir> <worldSize> <length>
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { installDirectWrites, installReceivedPayloads, installSocketReads } from '@gradmesh/transport';
import { RsagAllReduce, rankOrderSumStatus } from '@gradmesh/worker';

const [url, dir, worldSizeText] = process.argv.slice(2);
const worldSize = Number(worldSizeText);
const runId = `noaddon${process.pid}`;
const connections = await Promise.all(Array.from({ length: worldSize }, () => connect({ servers: url })));
for (const nc of connections) {
  installReceivedPayloads(nc);
  installDirectWrites(nc);
  await installSocketReads(nc);
}
const ranks = connections.map((nc, rank) => new RsagAllReduce({ generation: 0, nc, runId, rank, worldSize }));
await Promise.all(connections.map((nc) => nc.flush()));
const vectors = ranks.map((_, rank) => {
  const bytes = readFileSync(`${dir}/input-${rank}.f32`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
});
await Promise.all(ranks.map((r, rank) => r.allReduce(0, vectors[rank])));
vectors.forEach((v, rank) => writeFileSync(`${dir}/output-${rank}.f32`, new Uint8Array(v.buffer)));
await Promise.all(ranks.map((r) => r.close()));
await Promise.all(connections.map((nc) => nc.close()));
console.log(JSON.stringify(rankOrderSumStatus()));
