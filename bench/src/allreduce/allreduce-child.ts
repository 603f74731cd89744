import { PerformanceObserver } from 'node:perf_hooks';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Random } from '@gradmesh/shared/internal';
import { dialPeer, directWritesStatus, installDirectWrites, installReceivedPayloads, installSocketReads, PeerListener, receivedPayloadStats, releaseFrame, releasePayload, socketReadsStatus } from '@gradmesh/transport';
import { DirectPieceTransport, rankOrderSumStatus, RsagAllReduce, SharedMemoryPieceTransport, type PieceTransport } from '@gradmesh/worker';
import type { BenchLinks, ChildInit, ChildReply, ParentCommand } from './ipc.js';
import { ownCpuMsSince } from './cpu-time.js';
import { measureNecessaryWork } from './necessary-work.js';
import { openLinkMesh, type LinkMesh } from './link-mesh.js';

/**
 * A child process of the all-reduce benchmark (forked by `allreduce-bench.ts`, one per rank, plus a publisher
 * and a subscriber for the single-stream reference, a pinger and an echo for the round-trip reference). It does what the parent says over IPC and reports back;
 * it exits when told to or when the parent goes away.
 */
function reply(message: ChildReply): void {
  process.send?.(message);
}

let nc: NatsConnection | undefined;
/** Garbage-collector pause time of this process so far, in ms (reported with the CPU time). */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });
let allReduce: RsagAllReduce | undefined;
let input = new Float32Array(0);
let work = new Float32Array(0);
let publisher: ((step: number) => Promise<void>) | undefined;
let pinger: ((warmup: number, count: number) => Promise<Timed>) | undefined;
/** This process's link listener (opened by `listen`, kept for every later init). */
let listener: PeerListener | undefined;
let stopAccepting: (() => void) | undefined;
/** The links' all-to-all opened next to the all-reduce (`meshOpen`), and what each `meshRun` sends to each peer. */
let mesh: { readonly mesh: LinkMesh; readonly bytesPerPeer: number } | undefined;

async function init(m: ChildInit): Promise<void> {
  // A new size means a new run id: drop the previous instance and connection.
  await allReduce?.close();
  await nc?.close();
  allReduce = undefined;
  nc = undefined;
  stopAccepting?.();
  mesh?.mesh.close();
  mesh = undefined;
  publisher = undefined;
  if (m.role === 'linkReceiver') return receiveLink(m.runId, m.secret, m.totalBytes);
  if (m.role === 'linkSender') {
    publisher = await sendLink(m.runId, m.secret, m.address, m.totalBytes, m.messageBytes);
    return;
  }
  nc = await connect({ servers: m.url, name: `bench-${m.role}` });
  // Every child (ranks and the single-stream pair alike) receives and publishes the way a worker does.
  installReceivedPayloads(nc);
  installDirectWrites(nc);
  await installSocketReads(nc);
  if (m.role === 'allreduce') {
    const transport =
      m.links === undefined
        ? undefined
        : linksFor(m.rank, m.worldSize, m.links, new DirectPieceTransport({ listener: requireListener(), identity: { runId: m.runId, generation: 0, rank: m.rank, worldSize: m.worldSize, secret: m.links.secret }, addresses: m.links.addresses }));
    allReduce = new RsagAllReduce({ nc, ...(transport === undefined ? {} : { transport }), runId: m.runId, rank: m.rank, worldSize: m.worldSize, generation: 0, compression: m.compression, logger: (l) => console.error(l) });
    const r = Random.derive(12345, m.rank);
    input = new Float32Array(m.elements);
    for (let i = 0; i < input.length; i++) input[i] = r.next() - 0.5;
    work = new Float32Array(m.elements);
  } else if (m.role === 'subscriber') {
    subscribe(nc, m.subject, m.totalBytes);
  } else if (m.role === 'publisher') {
    publisher = publishAll(nc, m.subject, m.totalBytes, m.messageBytes);
  } else if (m.role === 'echo') {
    echo(nc, m.subject, m.bytes);
  } else if (m.role === 'pinger') {
    pinger = pingPong(nc, m.subject, m.bytes);
  }
  await nc.flush();
}


/** The `shm` transport of this rank's all-reduce, for its frame counts. */
let sharedMemory: SharedMemoryPieceTransport | undefined;

/** The links alone, or with pieces through shared memory (the `shm` transport). */
function linksFor(rank: number, worldSize: number, links: BenchLinks, direct: DirectPieceTransport): PieceTransport {
  sharedMemory = links.sharedMemory === true ? new SharedMemoryPieceTransport({ links: direct, rank, worldSize }) : undefined;
  return sharedMemory ?? direct;
}

function requireListener(): PeerListener {
  if (listener === undefined) throw new Error('direct links need a listener: send listen first');
  return listener;
}

/** Link single stream, receiving side (rank 1): counts the frames' bytes and hands each frame back for reuse. */
function receiveLink(runId: string, secret: Uint8Array, total: number): void {
  let received = 0;
  stopAccepting = requireListener().accept({ runId, generation: 0, rank: 1, worldSize: 2, secret }, (link) => {
    link.onFrame((frame) => {
      received += frame.length;
      releaseFrame(frame);
      if (received >= total) {
        received = 0;
        reply({ type: 'received', bytes: total });
      }
    });
  });
}

/** Link single stream, sending side (rank 0): `total` bytes in frames of `messageBytes`, at most 32 MB queued in the socket. */
async function sendLink(runId: string, secret: Uint8Array, address: string, total: number, messageBytes: number): Promise<(step: number) => Promise<void>> {
  const link = await dialPeer(address, { runId, generation: 0, rank: 0, worldSize: 2, secret }, 1);
  // Never mutated, so one buffer can be sent again and again.
  const payload = new Uint8Array(messageBytes).fill(7);
  return async () => {
    let sent = 0;
    let wake: (() => void) | undefined;
    let lastWritten: Promise<void> = Promise.resolve();
    while (sent < total) {
      while (link.bufferedBytes > 32 << 20) await new Promise<void>((resolve) => (wake = resolve));
      const size = Math.min(messageBytes, total - sent);
      lastWritten = new Promise<void>((resolve) =>
        link.send([payload.subarray(0, size)], () => {
          resolve();
          wake?.();
        }),
      );
      sent += size;
    }
    await lastWritten;
  };
}

/**
 * Counts bytes; acknowledges every 4 MB so the publisher can keep its in-flight bytes below max_pending. Each
 * payload is handed back to the receive-buffer recycler once counted, as a rank does with a frame it has summed
 * or copied.
 */
function subscribe(conn: NatsConnection, subject: string, total: number): void {
  let received = 0;
  let acked = 0;
  conn.subscribe(subject, {
    callback: (_err, msg) => {
      received += msg.data.length;
      releasePayload(msg.data);
      if (received - acked >= 4 << 20 || received >= total) {
        acked = received;
        conn.publish(`${subject}.ack`, String(received));
      }
      if (received >= total) {
        received = 0;
        acked = 0;
        reply({ type: 'received', bytes: total });
      }
    },
  });
}

/** Publishes `total` bytes with at most 32 MB unacknowledged (half the server's default max_pending). */
function publishAll(conn: NatsConnection, subject: string, total: number, messageBytes: number): (step: number) => Promise<void> {
  // Never mutated, so one buffer can be published again and again.
  const payload = new Uint8Array(messageBytes).fill(7);
  let acked = 0;
  let wake: (() => void) | undefined;
  conn.subscribe(`${subject}.ack`, {
    callback: (_err, msg) => {
      acked = Number(new TextDecoder().decode(msg.data));
      wake?.();
    },
  });
  return async () => {
    acked = 0;
    let sent = 0;
    while (sent < total) {
      while (sent - acked > 32 << 20) await new Promise<void>((resolve) => (wake = resolve));
      conn.publish(subject, payload);
      sent += messageBytes;
    }
    await conn.flush();
  };
}

/** Answers every message on `subject` with `bytes` of its own on `<subject>.back` (one buffer, never mutated). */
function echo(conn: NatsConnection, subject: string, bytes: number): void {
  const answer = new Uint8Array(bytes).fill(9);
  const back = `${subject}.back`;
  conn.subscribe(subject, {
    callback: (_err, msg) => {
      releasePayload(msg.data);
      conn.publish(back, answer);
    },
  });
}

/**
 * `count` round trips of `bytes` each way, one at a time; returns each one's wall time. The answer is awaited
 * the way an all-reduce awaits its last piece: a subscription callback resolving a promise.
 */
function pingPong(conn: NatsConnection, subject: string, bytes: number): (warmup: number, count: number) => Promise<Timed> {
  const payload = new Uint8Array(bytes).fill(7);
  let wake: (() => void) | undefined;
  conn.subscribe(`${subject}.back`, {
    callback: (_err, msg) => {
      releasePayload(msg.data);
      wake?.();
    },
  });
  return (warmup, count) =>
    timeEach(warmup, count, async () => {
      const answered = new Promise<void>((resolve) => (wake = resolve));
      conn.publish(subject, payload);
      await answered;
    });
}

interface Timed {
  readonly ms: number[];
  readonly cpuMs: number;
}

/**
 * Runs `prepare(i)` then `once(i)` warmup + count times in a row; the wall time of each of the last `count`
 * `once`s, and their CPU time (the `prepare`s excluded from both).
 */
async function timeEach(warmup: number, count: number, once: (i: number) => Promise<void>, prepare?: (i: number) => void): Promise<Timed> {
  const ms: number[] = [];
  let cpu = process.cpuUsage();
  let prepareMs = 0;
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) cpu = process.cpuUsage();
    if (prepare !== undefined) {
      const c0 = process.cpuUsage();
      prepare(i);
      if (i >= warmup) prepareMs += ownCpuMsSince(c0);
    }
    const t0 = performance.now();
    await once(i);
    if (i >= warmup) ms.push(performance.now() - t0);
  }
  return { ms, cpuMs: ownCpuMsSince(cpu) - prepareMs };
}

/**
 * All-reduces steps 0 … warmup+count−1 back to back; a step's time runs from the call to the resolution the
 * caller sees. Resetting the vector to this rank's input before each step (training's backward writes it instead)
 * is left out of the time and of the CPU.
 */
function allReduceMany(ar: RsagAllReduce, warmup: number, count: number): Promise<Timed> {
  return timeEach(
    warmup,
    count,
    (step) => ar.allReduce(step, work).then(() => undefined),
    () => work.set(input),
  );
}

/** The rank-order sum and the NATS client patches this rank runs with, or why not (the env switches show here). */
function dataPath(): string {
  const sum = rankOrderSumStatus();
  const received = receivedPayloadStats().status;
  const writes = directWritesStatus();
  return [
    `rank-order sum ${sum.native ? 'native' : `JavaScript (${sum.reason})`}`,
    `received payloads ${received === 'available' ? 'recycled' : received}`,
    `direct writes ${writes === 'available' ? 'on' : writes}`,
    `socket reads ${socketReadsStatus() === 'available' ? 'into a reused buffer' : socketReadsStatus()}`,
  ].join('; ');
}

function checksum(v: Float32Array): string {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ (u[i] as number), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

async function handle(m: ParentCommand): Promise<void> {
  switch (m.type) {
    case 'listen':
      listener ??= await PeerListener.open({ host: '127.0.0.1' });
      return reply({ type: 'listening', address: listener.address });
    case 'init':
      await init(m);
      return reply(m.role === 'allreduce' ? { type: 'ready', dataPath: `${m.links === undefined ? 'pieces through nats-server' : m.links.sharedMemory === true ? 'pieces through shared memory, notices over direct links' : 'pieces over direct links'}; ${dataPath()}` } : { type: 'ready' });
    case 'prepare': {
      // The reset stands in for training's backward: its CPU is reported so the parent can leave it out.
      const c0 = process.cpuUsage();
      work.set(input);
      return reply({ type: 'prepared', prepareCpuMs: ownCpuMsSince(c0) });
    }
    case 'run':
      if (allReduce !== undefined) {
        const startMs = performance.timeOrigin + performance.now();
        const t = await allReduce.allReduce(m.step, work);
        return reply({ type: 'done', step: m.step, ms: t.totalMs, startMs, endMs: performance.timeOrigin + performance.now() });
      }
      if (publisher !== undefined) {
        const t0 = performance.now();
        await publisher(m.step);
        return reply({ type: 'done', step: m.step, ms: performance.now() - t0 });
      }
      return;
    case 'runMany':
      if (allReduce !== undefined) return reply({ type: 'times', ...(await allReduceMany(allReduce, m.warmup, m.count)) });
      if (pinger !== undefined) return reply({ type: 'times', ...(await pinger(m.warmup, m.count)) });
      return;
    case 'checksum':
      return reply({ type: 'checksum', value: checksum(work), ...(sharedMemory === undefined ? {} : { sharedMemory: { ...sharedMemory.sent, peakSlots: sharedMemory.slotUse().peak, slots: sharedMemory.slotUse().slots } }) });
    case 'meshOpen': {
      mesh?.mesh.close();
      const opened = await openLinkMesh({ listener: requireListener(), runId: m.runId, secret: m.secret, rank: m.rank, worldSize: m.worldSize, addresses: m.addresses, messageBytes: m.messageBytes, sourceBytes: m.sourceBytes });
      mesh = { mesh: opened, bytesPerPeer: m.bytesPerPeer };
      return reply({ type: 'meshReady' });
    }
    case 'meshRun':
      if (mesh === undefined) throw new Error('meshRun before meshOpen');
      await mesh.mesh.run(mesh.bytesPerPeer);
      return reply({ type: 'meshDone' });
    case 'necessaryWork':
      return reply({ type: 'necessaryWork', ...measureNecessaryWork(m.worldSize, m.elements, m.runs) });
    case 'cpu': {
      const u = process.cpuUsage();
      return reply({ type: 'cpu', ms: (u.user + u.system) / 1000, gcMs, userMs: u.user / 1000, systemMs: u.system / 1000 });
    }
    case 'exit':
      await allReduce?.close();
      await nc?.close();
      await listener?.close();
      process.exit(0);
  }
}

process.on('message', (m: ParentCommand) => {
  handle(m).catch((error: unknown) => reply({ type: 'failed', message: (error as Error)?.message ?? String(error) }));
});
process.on('disconnect', () => process.exit(0));
