import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ClusterError, ConfigError } from '@gradmesh/shared/internal';
import { DropCounter, MessageRejectedError } from '@gradmesh/shared/internal';
import { copyPieceValues, framePiece, PIECE_HEADER_BYTES, pieceElements, readPieceHeader, type PieceHeader } from '@gradmesh/shared/internal';
import { allToAllSubject, validateRunId } from '@gradmesh/shared/internal';
import type { AllReduce, AllReduceStep, AllReduceTimings } from '../../worker/src/allreduce/allreduce.js';
import { EarlyFrames } from '../../worker/src/allreduce/early-frames.js';
import { planLayout, pieceRange } from '../../worker/src/allreduce/ownership.js';
import { sumInRankOrder } from '../../worker/src/allreduce/rank-order-sum.js';

/**
 * TEST ORACLE ONLY: the naive all-to-all all-reduce. Every rank publishes its whole vector to everyone
 * (`a2a.<rank>`), keeps every peer's full copy and sums all N in rank order. It moves (N−1)·L floats into
 * every rank instead of 2(N−1)/N·L and has no flow control, so it refuses vectors whose copies could exceed
 * half the server's max_pending. Its value is that it shares nothing with `rsag.ts` but the framing: a
 * different data path to the same bits.
 */
export interface NaiveOptions {
  readonly nc: NatsConnection;
  readonly runId: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  readonly timeoutMs?: number;
  readonly logger?: (line: string) => void;
  readonly maxPendingBytes?: number;
}

interface NaiveStep {
  readonly step: number;
  readonly data: Float32Array;
  readonly copies: Float32Array[];
  readonly received: Uint8Array;
  readonly pieces: number;
  missing: number;
  readonly timer: NodeJS.Timeout;
  readonly started: number;
  readonly resolve: (t: AllReduceTimings) => void;
  readonly reject: (e: Error) => void;
}

export class NaiveAllReduce implements AllReduce {
  readonly drops: DropCounter;
  readonly #o: NaiveOptions;
  readonly #pieceElements: number;
  readonly #subs: Subscription[] = [];
  readonly #early: EarlyFrames;
  #active: NaiveStep | undefined;
  #lastStep = -1;

  constructor(options: NaiveOptions) {
    validateRunId(options.runId, 'runId');
    if (!Number.isInteger(options.rank) || options.rank < 0 || options.rank >= options.worldSize) throw new ConfigError('rank', 'must be in [0, worldSize)', { value: options.rank });
    this.#o = options;
    this.drops = new DropCounter(options.logger);
    this.#early = new EarlyFrames(256 << 20, this.drops);
    const maxPayload = options.nc.info?.max_payload ?? 1 << 20;
    this.#pieceElements = Math.floor((maxPayload - PIECE_HEADER_BYTES) / 4);
    for (let k = 0; k < options.worldSize; k++) {
      if (k === options.rank) continue;
      const subject = allToAllSubject(options.runId, k);
      this.#subs.push(options.nc.subscribe(subject, { callback: (err, msg) => {
            if (err === null) this.#onFrame(subject, k, msg.data);
          },
        }));
    }
  }

  /** No buckets: the whole vector goes once its one bucket is released. */
  begin(step: number, data: Float32Array): AllReduceStep {
    let settle!: { resolve: (t: AllReduceTimings) => void; reject: (e: Error) => void };
    const done = new Promise<AllReduceTimings>((resolve, reject) => (settle = { resolve, reject }));
    done.catch(() => undefined);
    return {
      bucketCount: 1,
      release: (bucket) => {
        if (bucket !== 0) throw new ClusterError(`naive all-reduce has one bucket, not ${bucket}`, { step });
        this.allReduce(step, data).then(settle.resolve, settle.reject);
      },
      cancel: (reason) => settle.reject(new ClusterError(reason, { step })),
      reduced: () => done.then(() => undefined),
      done,
    };
  }

  allReduce(step: number, data: Float32Array): Promise<AllReduceTimings> {
    const { nc, runId, rank, worldSize, generation } = this.#o;
    if (this.#active !== undefined || step <= this.#lastStep) return Promise.reject(new ClusterError(`naive all-reduce: step ${step} out of order`, { rank, step }));
    const limit = (this.#o.maxPendingBytes ?? 64 << 20) / 2;
    if ((worldSize - 1) * data.length * 4 > limit) return Promise.reject(new ConfigError('data.length', `too long for the naive oracle with ${worldSize} ranks`, { value: data.length }));
    this.#lastStep = step;
    const layout = planLayout(data.length, 1, this.#pieceElements);
    return new Promise((resolve, reject) => {
      const active: NaiveStep = {
        step,
        data,
        copies: Array.from({ length: worldSize }, (_, k) => new Float32Array(k === rank ? 0 : data.length)),
        received: new Uint8Array(layout.pieceCount * worldSize),
        pieces: layout.pieceCount,
        missing: layout.pieceCount * (worldSize - 1),
        started: performance.now(),
        timer: setTimeout(() => {
          this.#active = undefined;
          reject(new ClusterError(`naive all-reduce of step ${step} on rank ${rank} timed out`, { rank, step }));
        }, this.#o.timeoutMs ?? 30_000),
        resolve,
        reject,
      };
      this.#active = active;
      for (let p = 0; p < layout.pieceCount; p++) {
        const r = pieceRange(layout, p);
        nc.publish(allToAllSubject(runId, rank), framePiece({ family: 'a2a', source: rank, generation, step, piece: p }, data.subarray(r.start, r.start + r.length)));
      }
      for (const e of this.#early.take(step)) this.#accept(active, e.header, e.frame);
      this.#finishIfDone(active);
    });
  }

  async close(): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe();
    const active = this.#active;
    if (active !== undefined) {
      clearTimeout(active.timer);
      this.#active = undefined;
      active.reject(new ClusterError('naive all-reduce closed', { step: active.step }));
    }
  }

  #onFrame(subject: string, owner: number, frame: Uint8Array): void {
    let header: PieceHeader;
    try {
      header = readPieceHeader(subject, frame);
    } catch (error) {
      if (error instanceof MessageRejectedError) this.drops.dropError(error);
      return;
    }
    if (header.family !== 'a2a' || header.source !== owner || header.generation !== this.#o.generation) return this.drops.drop('a2a', 'malformed', subject);
    const active = this.#active;
    if (active !== undefined && header.step === active.step) this.#accept(active, header, frame);
    else if (header.step > this.#lastStep) this.#early.add(subject, header, frame, false);
    else this.drops.drop('a2a', 'stale-step', subject);
  }

  #accept(active: NaiveStep, header: PieceHeader, frame: Uint8Array): void {
    const layout = planLayout(active.data.length, 1, this.#pieceElements);
    if (header.piece >= layout.pieceCount) return this.drops.drop('a2a', 'malformed', `piece ${header.piece}`);
    const r = pieceRange(layout, header.piece);
    const slot = header.piece * this.#o.worldSize + header.source;
    if (pieceElements(frame) !== r.length || active.received[slot] === 1) return this.drops.drop('a2a', 'malformed', `piece ${header.piece}`);
    active.received[slot] = 1;
    copyPieceValues(frame, active.copies[header.source] as Float32Array, r.start, r.length);
    active.missing--;
    this.#finishIfDone(active);
  }

  #finishIfDone(active: NaiveStep): void {
    if (active.missing > 0 || this.#active !== active) return;
    clearTimeout(active.timer);
    this.#active = undefined;
    const sources = active.copies.map((c, k) => (k === this.#o.rank ? active.data : c));
    const out = new Float32Array(active.data.length);
    sumInRankOrder(out, sources);
    active.data.set(out);
    const bytes = active.pieces * PIECE_HEADER_BYTES + active.data.length * 4;
    active.resolve({ totalMs: performance.now() - active.started, ownChunkMs: 0, bytesSent: bytes, bytesReceived: bytes * (this.#o.worldSize - 1) });
  }
}
