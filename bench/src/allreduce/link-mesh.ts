import { dialPeer, releaseFrame, type IncomingLink, type OutgoingLink, type PeerListener } from '@gradmesh/transport';

/**
 * Note [the links' all-to-all]
 * The ceiling charges an all-reduce's bytes at the costs of ONE link between TWO processes. An all-reduce over
 * direct links moves them differently: each of N processes (on two cores) sends to and receives from all N−1
 * others at once, over 2(N−1) sockets. The mesh does exactly that and nothing else — every rank sends its share
 * round-robin to its peers in 1 MiB frames taken from a vector of the all-reduce's size, and hands each received
 * frame straight back (no sums, no landing, no frame kept) — so its CPU per GB is what the all-reduce's traffic
 * pattern costs on this machine, next to the single stream's. The bench runs it once after every all-reduce run of a
 * row, over links of its own, so that both see the same machine (this host's speed swings by a third within
 * minutes), and leaves its CPU out of the all-reduce's. (Keeping frames, as the reduce-scatter does until
 * every copy of a piece is in, costs more again: they fall out of the cache; that part is left to the all-reduce.)
 */
export interface LinkMeshOptions {
  readonly listener: PeerListener;
  readonly runId: string;
  readonly secret: Uint8Array;
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank's listener address, by rank. */
  readonly addresses: readonly string[];
  readonly messageBytes: number;
  /** Bytes of the vector frames are sent from (the all-reduce's size). */
  readonly sourceBytes: number;
}

export interface LinkMesh {
  /** Sends `bytesPerPeer` to every peer, frame by frame round-robin, and resolves once they are written and as many from every peer have arrived here. */
  run(bytesPerPeer: number): Promise<void>;
  close(): void;
}

/** Bytes queued per outgoing link before the sender waits (the all-reduce's window is of the same order). */
const QUEUED_PER_LINK = 8 << 20;

export async function openLinkMesh(o: LinkMeshOptions): Promise<LinkMesh> {
  const identity = { runId: o.runId, generation: 0, rank: o.rank, worldSize: o.worldSize, secret: o.secret };
  const incoming: IncomingLink[] = [];
  let received = 0;
  let expected = Infinity;
  let arrived: (() => void) | undefined;
  const stopAccepting = o.listener.accept(identity, (link) => {
    incoming.push(link);
    link.onFrame((frame) => {
      received += frame.length;
      releaseFrame(frame);
      if (received >= expected) arrived?.();
    });
  });
  // A peer that has not accepted yet holds the connection until it does (Note [held connections]).
  const outgoing: OutgoingLink[] = await Promise.all(
    o.addresses.flatMap((address, peer) => (peer === o.rank ? [] : [dialPeer(address, identity, peer)])),
  );
  const source = new Uint8Array(new Float32Array(Math.ceil(Math.max(o.sourceBytes, o.messageBytes) / 4)).fill(0.5).buffer);

  return {
    async run(bytesPerPeer: number): Promise<void> {
      const total = bytesPerPeer * outgoing.length;
      const allArrived = new Promise<void>((resolve) => {
        expected = total;
        arrived = resolve;
        if (received >= expected) resolve();
      });
      let offset = 0;
      let wake: (() => void) | undefined;
      const written: Promise<void>[] = [];
      for (let sent = 0; sent < bytesPerPeer; ) {
        const size = Math.min(o.messageBytes, bytesPerPeer - sent);
        for (const link of outgoing) {
          while (link.bufferedBytes > QUEUED_PER_LINK) await new Promise<void>((resolve) => (wake = resolve));
          if (offset + size > source.length) offset = 0;
          const frame = source.subarray(offset, offset + size);
          offset += size;
          written.push(new Promise<void>((resolve) => link.send([frame], () => {
            resolve();
            wake?.();
          })));
        }
        sent += size;
      }
      await Promise.all(written);
      await allArrived;
      received -= total;
      expected = Infinity;
    },
    close(): void {
      stopAccepting();
      for (const l of outgoing) l.close();
      for (const l of incoming) l.close();
    },
  };
}
